"""`flask staff add|disable|enable|reset-password`: accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .. import audit
from . import accounts

staff_cli = AppGroup("staff", help="Staff accounts (social workers and administrators).")


@staff_cli.command("add")
@click.argument("username")
@click.option("--name", required=True, help="Full name, shown as 'Assisted by …'.")
@click.option("--role", type=click.Choice(accounts.ROLES), default=accounts.SOCIAL_WORKER)
@click.option("--centre", default="", help="The social service centre.")
@click.password_option(help="At least 10 characters; asked for when not given.")
def add_command(username: str, name: str, role: str, centre: str, password: str) -> None:
    """Add a staff account."""
    if accounts.by_username(username):
        raise click.ClickException(f"{username!r} exists already")
    try:
        staff = accounts.add(username, name, role, centre, password)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    audit.record("staff_add", detail=f"added {staff.id} from the command line")
    click.echo(f"Added {staff.username} ({staff.role}).")


def _find(username: str) -> accounts.Staff:
    staff = accounts.by_username(username)
    if staff is None:
        raise click.ClickException(f"no staff account {username!r}")
    return staff


def _switch(username: str, disabled: bool) -> None:
    staff = _find(username)
    accounts.set_disabled(staff.id, disabled)
    action = "disable" if disabled else "enable"
    audit.record(f"staff_{action}", detail=f"for {staff.id} from the command line")
    click.echo(f"{action.capitalize()}d {staff.username}.")


@staff_cli.command("disable")
@click.argument("username")
def disable_command(username: str) -> None:
    """Disable an account: it can no longer sign in, and its sessions end."""
    _switch(username, disabled=True)


@staff_cli.command("enable")
@click.argument("username")
def enable_command(username: str) -> None:
    """Let a disabled account sign in again."""
    _switch(username, disabled=False)


@staff_cli.command("reset-password")
@click.argument("username")
def reset_password_command(username: str) -> None:
    """Give the account a new random password and lift a lockout; prints it once."""
    staff = _find(username)
    password = accounts.reset_password(staff.id)
    audit.record("staff_password_reset", detail=f"for {staff.id} from the command line")
    click.echo(f"New password for {staff.username}: {password}")
