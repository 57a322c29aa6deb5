"""`flask backup DIR`: a second, verified copy of the outbox.

A queued application exists only in this node's database until the registry
signs for it; a damaged disk would lose it. The backup uses SQLite's online
backup API (safe while the node runs), then opens the copy and checks it: the
integrity check passes and the outbox and submissions hold as many rows as the
database did at the moment of the copy. Copies are readable by their owner only.

Drafts are left out of the copy: they hold what an applicant is still typing, in
plain text, and must not outlive the applicant's visit in a backup folder.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import connect

COUNTED = ("outbox", "submissions")
PREFIX = "kiosk-"


class BackupError(Exception):
    """The copy could not be made or did not verify; it has been removed."""


def make(database: str | Path, folder: Path) -> Path:
    """Copy `database` into a new timestamped file in `folder`, verify it, return its path."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = _new_file(folder)
    try:
        counts = _copy(database, path)
        _leave_out_drafts(path)
        _verify(path, counts)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _new_file(folder: Path) -> Path:
    """An owner-only file named by the time (UTC), never one that exists already."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for number in range(1, 100):
        suffix = "" if number == 1 else f"-{number}"
        path = folder / f"{PREFIX}{stamp}{suffix}.sqlite3"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return path
    raise BackupError(f"too many backups in {folder} this second")


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in COUNTED}


def _copy(database: str | Path, path: Path) -> dict[str, int]:
    """Copy one snapshot of the database; return its row counts, taken in that same snapshot."""
    source = connect(database)
    target = sqlite3.connect(path)
    try:
        source.execute("BEGIN")  # a read transaction: the counts and the copy see the same data
        counts = _counts(source.conn)
        source.conn.backup(target)
        source.execute("COMMIT")
    finally:
        target.close()
        source.close()
    return counts


def _leave_out_drafts(path: Path) -> None:
    """Delete the drafts from the copy, overwrite their pages, and make it one plain file."""
    copy = sqlite3.connect(path, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode=DELETE")
        copy.execute("PRAGMA secure_delete=ON")
        copy.execute("DELETE FROM drafts")
        copy.execute("VACUUM")
    finally:
        copy.close()


def _verify(path: Path, expected: dict[str, int]) -> None:
    copy = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        result = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"the copy fails its integrity check: {result[0][:200]}")
        found = _counts(copy)
    finally:
        copy.close()
    if found != expected:
        raise BackupError(f"the copy holds {found} rows, the database held {expected}")


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest backups in `folder`; return what was removed."""
    backups = sorted(folder.glob(f"{PREFIX}*.sqlite3"))
    old = backups[:-keep] if keep else backups
    for path in old:
        path.unlink()
    return old


@click.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", default=48, show_default=True, help="How many backups to keep in FOLDER.")
@with_appcontext
def backup_command(folder: Path, keep: int) -> None:
    """Copy the database into FOLDER (online, verified) and print the copy's path."""
    try:
        path = make(current_app.config["DATABASE"], folder)
    except (BackupError, sqlite3.Error, OSError) as error:
        raise click.ClickException(f"backup failed: {error}") from None
    click.echo(str(path))
    for removed in prune(folder, max(keep, 1)):
        click.echo(f"removed old backup {removed.name}", err=True)
