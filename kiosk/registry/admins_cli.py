"""`flask registry add-admin`, `disable-admin`, `enable-admin` and `set-admin-password`.

Accounts are made only here, by someone with a shell on the registry: the web pages
(admin_views.py) have no way to add one. The password is asked for twice, hidden, or
read from standard input with --password-stdin (for scripts: never on the command
line, where `ps` and the shell's history would show it). Every command is audited in
the registry's audit log under the operating system's user name.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

import click

from . import admins, audit_log, create_registry_app
from .database import Database, get_db


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown system user"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _audited(event: str, change: Callable[[Database], admins.Admin]) -> admins.Admin:
    """Make one change to the accounts and write its audit row, in one transaction.

    What admins.py refuses (no such account, a taken name, a short password) is the
    command's error message, and then nothing is changed or audited.
    """
    app = create_registry_app()
    with app.app_context():
        db = get_db()
        try:
            with db.transaction(lock="registry admins"):
                admin = change(db)
                audit_log.record(db, event, _os_user(), {"username": admin.username})
        except (LookupError, ValueError) as error:
            raise click.ClickException(str(error)) from None
    return admin


password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)


@click.command("add-admin")
@click.argument("username")
@password_stdin
def add_admin_command(username: str, password_stdin: bool) -> None:
    """Add an administrator of the registry's web pages (password of 12 characters or more)."""
    password = _password(password_stdin)
    admin = _audited("admin_add", lambda db: admins.add(db, username, password))
    click.echo(f"Added registry administrator {admin.username}.")


@click.command("disable-admin")
@click.argument("username")
def disable_admin_command(username: str) -> None:
    """Disable an administrator: they cannot sign in, and their open sessions end now."""
    admin = _audited("admin_disable", lambda db: admins.disable(db, username))
    click.echo(f"Disabled registry administrator {admin.username}; their sessions have ended.")


@click.command("enable-admin")
@click.argument("username")
def enable_admin_command(username: str) -> None:
    """Let a disabled administrator sign in again, with the password they had."""
    admin = _audited("admin_enable", lambda db: admins.enable(db, username))
    click.echo(f"Enabled registry administrator {admin.username}.")


@click.command("set-admin-password")
@click.argument("username")
@password_stdin
def set_admin_password_command(username: str, password_stdin: bool) -> None:
    """Give an administrator a new password: their open sessions end and a lock is lifted."""
    password = _password(password_stdin)
    admin = _audited("admin_password", lambda db: admins.set_password(db, username, password))
    click.echo(f"Set a new password for registry administrator {admin.username}.")


def attach(group: click.Group) -> None:
    """Add these commands to `flask registry` (kiosk/registry/cli.py)."""
    group.add_command(add_admin_command)
    group.add_command(disable_admin_command)
    group.add_command(enable_admin_command)
    group.add_command(set_admin_password_command)
