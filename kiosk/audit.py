"""The audit log: who did what on this node, when, and from where. Append-only.

Rows can be added and read, never changed or deleted: SQLite triggers refuse an
UPDATE, a DELETE, and an INSERT OR REPLACE over an existing id (REPLACE deletes
without firing the DELETE trigger), and the app has no code path that tries.
Rows name staff by id and applications by reference number only, never by
applicant data.

Triggers stop the app, not someone with the file and a SQLite shell. For that,
each row is chained to the one before it: its `hash` is SHA-256 over the
previous row's hash and this row's fields, so a changed, removed or inserted
row breaks the chain at that point, and `flask audit verify` says where. Rows
written before the chain existed (an older database) have no hash; the first
chained row is chained over them, so they are covered from then on too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import click
import sqlite_utils
from flask import has_request_context, request
from flask.cli import AppGroup

from .db import get_db, transaction

EVENTS = (
    "login",
    "login_failed",
    "logout",
    "assisted_start",
    "assisted_resume",
    "save",
    "resume",
    "submit",
    "queue_retry",
    "queue_export",
    "staff_add",
    "staff_disable",
    "staff_enable",
    "staff_password_reset",
)


FIELDS = ("id", "at", "event", "staff_id", "ip", "reference", "detail")
GENESIS = "0" * 64  # the "previous hash" of the first row


def create_schema(db: sqlite_utils.Database) -> None:
    db["audit"].create(
        {
            "id": int,
            "at": str,
            "event": str,
            "staff_id": int,
            "ip": str,
            "reference": str,
            "detail": str,
            "hash": str,
        },
        pk="id",
        not_null={"at", "event"},
        if_not_exists=True,
    )
    if "hash" not in db["audit"].columns_dict:  # a database from before the chain
        db["audit"].add_column("hash", str)
    db["audit"].create_index(["at"], if_not_exists=True)
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER IF NOT EXISTS audit_no_{action.lower()} BEFORE {action} ON audit"
            " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit"
        " WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)"
        " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS audit_needs_hash BEFORE INSERT ON audit"
        " WHEN NEW.hash IS NULL"
        " BEGIN SELECT RAISE(ABORT, 'audit rows are written by audit.record'); END"
    )


def link(previous: str, row: dict) -> str:
    """This row's hash: SHA-256 over the previous row's hash and this row's fields."""
    fields = json.dumps([row[name] for name in FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{fields}".encode()).hexdigest()


def record(
    event: str,
    staff_id: int | None = None,
    reference: str | None = None,
    detail: str | None = None,
    db: sqlite_utils.Database | None = None,
) -> None:
    """Append one event, chained to the last. `detail` must never hold applicant data."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    db = db or get_db()
    row = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "event": event,
        "staff_id": staff_id,
        "ip": request.remote_addr if has_request_context() else None,
        "reference": reference,
        "detail": detail,
    }
    if db.conn.in_transaction:  # the caller's write transaction keeps the chain whole
        _append(db, row)
    else:
        with transaction(db):  # BEGIN IMMEDIATE: no other writer between reading and adding
            _append(db, row)


def _append(db: sqlite_utils.Database, row: dict) -> None:
    last_id, previous = _head(db)
    row = {"id": last_id + 1, **row}
    db.execute(
        "INSERT INTO audit (id, at, event, staff_id, ip, reference, detail, hash)"
        " VALUES (:id, :at, :event, :staff_id, :ip, :reference, :detail, :hash)",
        {**row, "hash": link(previous, row)},
    )


def _head(db: sqlite_utils.Database) -> tuple[int, str]:
    """The last row's id and the hash the next row chains from."""
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    if last is None:
        return 0, GENESIS
    if last[1] is not None:
        return last[0], last[1]
    # Only rows from before the chain: chain over them, once.
    return last[0], _walk(_rows(db)).head


def _rows(db: sqlite_utils.Database) -> Iterable[dict]:
    cursor = db.execute(f"SELECT {', '.join(FIELDS)}, hash FROM audit ORDER BY id")
    for values in cursor:
        yield dict(zip((*FIELDS, "hash"), values, strict=True))


@dataclass
class Verdict:
    """What a walk along the chain found."""

    rows: int = 0
    before_chain: int = 0  # rows from an older database, without a hash
    head: str = GENESIS  # the hash the next row will chain from
    broken_at: int | None = None
    reason: str = ""


def _walk(rows: Iterable[dict]) -> Verdict:
    verdict = Verdict()
    expected_id = 1
    for row in rows:
        if row["id"] != expected_id:
            return _broken(verdict, row["id"], _missing(expected_id, row["id"] - 1))
        expected_id = row["id"] + 1
        should_be = link(verdict.head, row)
        if row["hash"] is None:
            if verdict.rows > verdict.before_chain:
                return _broken(verdict, row["id"], "it has no hash, but rows before it have")
            verdict.before_chain += 1
        elif row["hash"] != should_be:
            reason = "its hash does not match its fields and the row before it"
            return _broken(verdict, row["id"], reason)
        verdict.rows += 1
        verdict.head = should_be
    return verdict


def _missing(first: int, last: int) -> str:
    return f"row {first} is missing" if first == last else f"rows {first} to {last} are missing"


def _broken(verdict: Verdict, row_id: int, reason: str) -> Verdict:
    verdict.broken_at, verdict.reason = row_id, reason
    return verdict


def verify(db: sqlite_utils.Database | None = None) -> Verdict:
    """Walk the whole chain from the first row; the first broken row, if any."""
    return _walk(_rows(db or get_db()))


def recent(limit: int = 200, db: sqlite_utils.Database | None = None) -> list[dict]:
    rows = (db or get_db()).execute(
        "SELECT a.at, a.event, a.staff_id, s.username, a.ip, a.reference, a.detail"
        " FROM audit a LEFT JOIN staff s ON s.id = a.staff_id ORDER BY a.id DESC LIMIT ?",
        [limit],
    )
    keys = ("at", "event", "staff_id", "username", "ip", "reference", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]


audit_cli = AppGroup("audit", help="The audit log.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check that no row of the audit log was changed, removed or slipped in."""
    verdict = verify()
    if verdict.broken_at is not None:
        raise click.ClickException(
            f"the audit log is broken at row {verdict.broken_at}: {verdict.reason} "
            f"({verdict.rows} rows before it are intact)"
        )
    older = (
        f", {verdict.before_chain} of them from before the chain began"
        if verdict.before_chain
        else ""
    )
    click.echo(f"OK: {verdict.rows} rows{older}. Last hash: {verdict.head}")
