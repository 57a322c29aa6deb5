"""The SQLite database: one connection per request, pragmas, the node's tables, transactions.

The node's promise is that a submission shown as received survives a power cut,
so every connection runs in WAL mode with ``synchronous=FULL``, and writes that
must happen together run inside one ``BEGIN IMMEDIATE`` transaction.

The file holds personal data until it is delivered, so it is made readable by
its owner only (SQLite gives the -wal and -shm files the database file's mode),
and a file that is damaged or not a database stops the start with one clear
message (`DamagedDatabase`), checked once by `init_app`.

Each module creates its own tables; kiosk/schema.py calls them all.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import sqlite_utils
from flask import Flask, current_app, g

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 3.0  # how long forget_deleted waits for readers to leave old pages
CHECKPOINT_WAIT_MS = 100  # each checkpoint attempt's own wait for a reader


class DamagedDatabase(Exception):
    """The database file is not a database, or fails its integrity check: restore a backup."""


def _private_file(path: Path) -> None:
    """Create `path` empty and owner-only if missing, so SQLite keeps that mode for it."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def connect(path: str | Path, busy_timeout: float = 10) -> sqlite_utils.Database:
    """Open the database at `path` with the pragmas the node relies on.

    `busy_timeout` is how many seconds a statement waits for another writer.
    """
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _private_file(Path(path))
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=busy_timeout, check_same_thread=False
    )
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # Deleted drafts are overwritten with zeros, not just marked free: what an
        # applicant typed must not be readable from the file after they leave.
        conn.execute("PRAGMA secure_delete=ON")
    except sqlite3.Error:
        conn.close()  # now, not whenever the traceback is collected (a full disk, a lock)
        raise
    return sqlite_utils.Database(conn)


def forget_deleted(db: sqlite_utils.Database) -> bool:
    """Copy the WAL into the database and empty it, so old copies of deleted rows go too.

    The write-ahead log keeps earlier versions of pages (a draft as it was typed)
    until it is reset; truncating it after a draft is deleted leaves nothing behind.
    A reader with an older snapshot open blocks the reset, so the checkpoint is
    tried again, briefly, until it completes. Returns False (and logs) if it never did.
    """
    previous = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
    try:
        deadline = time.monotonic() + CHECKPOINT_SECONDS
        while True:
            busy, frames, copied = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy and frames == copied:  # (0, 0, 0): all copied back, the log emptied
                return True
            if time.monotonic() >= deadline:
                log.warning("The WAL could not be emptied: a reader kept an old snapshot open.")
                return False
            time.sleep(0.01)
    finally:
        db.execute(f"PRAGMA busy_timeout={previous}")


def get_db() -> sqlite_utils.Database:
    """The current request's connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block as one write transaction, taken before the first read.

    ``BEGIN IMMEDIATE`` takes the write lock at once, so a read inside the
    block cannot be made stale by another writer before this one commits.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.execute("COMMIT")


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables if they are missing. Safe to run on every start."""
    db["drafts"].create(
        {
            "id": str,  # random, secret: the key kept in the session cookie
            "submission_id": str,  # UUID made with the draft; becomes the submission's id
            "answers": str,  # JSON object, keyed by field name
            "created_at": str,
            "updated_at": str,
            "expires_at": str,
        },
        pk="id",
        not_null={"submission_id", "answers", "created_at", "updated_at", "expires_at"},
        if_not_exists=True,
    )
    db["drafts"].create_index(["expires_at"], if_not_exists=True)
    added = {"worker_id": int, "return_code": str, "pending": str}  # assisted; saved (kiosk/saved)
    added |= {"claim": str, "claim_checked_at": float}  # one live draft per code (kiosk/claims)
    for column, kind in added.items():
        if column not in db["drafts"].columns_dict:
            db["drafts"].add_column(column, kind)
    db["submissions"].create(
        {
            "id": str,
            "reference": str,
            "locale": str,
            "region": str,
            "applicant_type": str,
            "submitted_at": str,
            "payload_sha256": str,
        },
        pk="id",
        not_null={"reference", "locale", "submitted_at", "payload_sha256"},
        if_not_exists=True,
    )
    db["submissions"].create_index(["reference"], unique=True, if_not_exists=True)
    for column in ("worker_id", "applicant_masked"):  # assisted applications
        if column not in db["submissions"].columns_dict:
            db["submissions"].add_column(column, int if column == "worker_id" else str)
    db["outbox"].create(
        {
            "submission_id": str,
            "status": str,  # queued, sending, waiting, delivered, dead (kiosk/outbox)
            "envelope": str,  # sealed JSON; NULL once delivered
            "envelope_sha256": str,
            "attempts": int,
            "created_at": str,
            "next_attempt_at": str,
            "lease_until": str,  # while sending: when another forwarder may take it back
            "last_error": str,
            "delivered_at": str,
            "receipt": str,  # the registry's JSON receipt
        },
        pk="submission_id",
        not_null={"status", "envelope_sha256", "attempts", "created_at", "next_attempt_at"},
        foreign_keys=[("submission_id", "submissions", "id")],
        if_not_exists=True,
    )
    db["outbox"].create_index(["status", "next_attempt_at", "created_at"], if_not_exists=True)
    db["node_state"].create(
        {"key": str, "value": str, "updated_at": str}, pk="key", if_not_exists=True
    )


def check(path: str | Path) -> str:
    """Open the database and run SQLite's quick check; "ok", or raise DamagedDatabase."""
    _tighten(Path(path))
    try:
        db = connect(path)
        try:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        finally:
            db.close()
    except sqlite3.OperationalError:
        raise  # locked, no permission, no such folder: not damage, and it may pass
    except sqlite3.DatabaseError as error:
        reason = f"it is not a usable SQLite database ({error})"
        raise DamagedDatabase(_damaged(path, reason)) from None
    if problems != ["ok"]:
        first = problems[0][:200]
        reason = f"it fails its integrity check ({len(problems)} problems, first: {first})"
        raise DamagedDatabase(_damaged(path, reason))
    return "ok"


def _damaged(path: str | Path, reason: str) -> str:
    return (
        f"The database {path} cannot be used: {reason}. Stop the node, move the file (and any"
        " -wal and -shm file beside it) aside, copy the newest backup in its place"
        " (README, Backups), and start again."
    )


def _tighten(path: Path) -> None:
    """Files made before the node kept them private: owner-only from now on."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)
        except (FileNotFoundError, PermissionError):
            pass


def init_app(app: Flask) -> None:
    """Check the database once on start, and close each request's connection after it."""
    app.extensions["database_check"] = check(app.config["DATABASE"])
    app.teardown_appcontext(close_db)
