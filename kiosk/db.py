"""The SQLite database: one connection per request, pragmas, schema, transactions.

The node's promise is that a submission shown as received survives a power cut,
so every connection runs in WAL mode with ``synchronous=FULL``, and writes that
must happen together run inside one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlite_utils
from flask import Flask, current_app, g
from flask.cli import with_appcontext

SCHEMA_VERSION = 1


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the database at `path` with the pragmas the node relies on."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    # Deleted drafts are overwritten with zeros, not just marked free: what an
    # applicant typed must not be readable from the file after they leave.
    conn.execute("PRAGMA secure_delete=ON")
    return sqlite_utils.Database(conn)


def forget_deleted(db: sqlite_utils.Database) -> None:
    """Copy the WAL into the database and empty it, so old copies of deleted rows go too.

    The write-ahead log keeps earlier versions of pages (a draft as it was typed)
    until it is reset; truncating it after a draft is deleted leaves nothing behind.
    """
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


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
    if "worker_id" not in db["drafts"].columns_dict:  # added for assisted applications
        db["drafts"].add_column("worker_id", int)
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
    from . import audit
    from .staff import accounts

    accounts.create_schema(db)
    audit.create_schema(db)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def init_app(app: Flask) -> None:
    """Create the database and its tables on start, and close connections after requests."""
    db = connect(app.config["DATABASE"])
    try:
        create_schema(db)
    finally:
        db.close()
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database tables if they do not exist yet."""
    create_schema(get_db())
    click.echo(f"Database ready: {current_app.config['DATABASE']}")
