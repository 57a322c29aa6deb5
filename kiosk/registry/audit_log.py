"""The registry's audit log: who exported or looked at what, and when. Append-only.

Rows can be added and read, never changed or removed: on SQLite and on PostgreSQL
triggers refuse an UPDATE and a DELETE (PostgreSQL's a TRUNCATE too, SQLite's an
INSERT OR REPLACE over an existing row, which deletes without firing the DELETE
trigger). The schema is migration 4 (migrations.py).

Triggers stop the application, not someone with the database's owner password. For
that, each row is chained to the one before it, as the node's audit log is
(kiosk/audit.py): its `hash` is SHA-256 over the previous row's hash and this row's
fields, so a changed, removed or slipped-in row breaks the chain there, and `verify`
(`flask registry audit`) says where. Ids are consecutive for the same reason: they are
counted here, under one lock, not taken from a sequence that may skip.

`detail` is a small JSON object. It must never hold applicant data: name a region,
a count, a file path, a registry reference, never a name, IIN, phone or e-mail.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .database import Database

LOCK = "registry audit log"  # one writer at a time: each row chains from the last
GENESIS = "0" * 64  # the "previous hash" of the first row
FIELDS = ("id", "at", "event", "actor", "detail")
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,39}")  # "export", "admin_login", …


def link(previous: str, row: dict[str, Any]) -> str:
    """This row's hash: SHA-256 over the previous row's hash and this row's fields."""
    fields = json.dumps([row[name] for name in FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{fields}".encode()).hexdigest()


def record(db: Database, event: str, actor: str, detail: dict) -> None:
    """Append one event by `actor` (an OS user, an administrator's name), chained to the last.

    Inside the caller's transaction when there is one, so that what is audited and
    its row commit together; otherwise in a transaction of its own.
    """
    if not _EVENT.fullmatch(event):
        raise ValueError(f"audit event names are lower-case identifiers, not {event!r}")
    if not actor or not actor.strip():
        raise ValueError("an audit row needs an actor")
    row = {
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "event": event,
        "actor": actor.strip()[:200],
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    }
    if _in_sqlite_transaction(db):  # BEGIN IMMEDIATE already holds the one write lock
        _append(db, row)
        return
    with db.transaction(lock=LOCK):  # PostgreSQL nests this as a savepoint, lock and all
        _append(db, row)


def _in_sqlite_transaction(db: Database) -> bool:
    return db.dialect == "sqlite" and bool(db.conn.in_transaction)  # type: ignore[attr-defined]


def _append(db: Database, row: dict[str, Any]) -> None:
    last = db.execute("SELECT id, hash FROM registry_audit ORDER BY id DESC LIMIT 1").fetchone()
    last_id, previous = (last[0], last[1]) if last else (0, GENESIS)
    row = {"id": last_id + 1, **row}
    db.execute(
        "INSERT INTO registry_audit (id, at, event, actor, detail, hash) VALUES (?, ?, ?, ?, ?, ?)",
        [row["id"], row["at"], row["event"], row["actor"], row["detail"], link(previous, row)],
    )


def _rows(db: Database) -> list[dict[str, Any]]:
    return db.rows(f"SELECT {', '.join(FIELDS)}, hash FROM registry_audit ORDER BY id")


def entries(db: Database) -> list[dict]:
    """Every row, oldest first, with `detail` read back as a dict."""
    return [{**row, "detail": json.loads(row["detail"])} for row in _rows(db)]


@dataclass
class Verdict:
    """What a walk along the chain found: `broken_at` is the first bad row's id, if any."""

    rows: int = 0
    head: str = GENESIS
    broken_at: int | None = None
    reason: str = ""


def verify(db: Database) -> Verdict:
    """Walk the chain from the first row; stop at the first row that does not fit."""
    verdict = Verdict()
    for expected, row in enumerate(_rows(db), start=1):
        if row["id"] != expected:
            verdict.broken_at, verdict.reason = expected, "this row is missing"
            return verdict
        should_be = link(verdict.head, row)
        if row["hash"] != should_be:
            verdict.broken_at = row["id"]
            verdict.reason = "its hash does not match its fields and the row before it"
            return verdict
        verdict.rows += 1
        verdict.head = should_be
    return verdict
