"""The audit log: who did what on this node, when, and from where. Append-only.

Rows can be added and read, never changed or deleted: SQLite triggers refuse an
UPDATE or DELETE, and the app has no code path that tries. Rows name staff by id
and applications by reference number only, never by applicant data.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils
from flask import has_request_context, request

from .db import get_db

EVENTS = (
    "login",
    "login_failed",
    "logout",
    "assisted_start",
    "assisted_resume",
    "submit",
    "queue_retry",
    "queue_export",
    "staff_add",
    "staff_disable",
    "staff_enable",
    "staff_password_reset",
)


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
        },
        pk="id",
        not_null={"at", "event"},
        if_not_exists=True,
    )
    db["audit"].create_index(["at"], if_not_exists=True)
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER IF NOT EXISTS audit_no_{action.lower()} BEFORE {action} ON audit"
            " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


def record(
    event: str,
    staff_id: int | None = None,
    reference: str | None = None,
    detail: str | None = None,
    db: sqlite_utils.Database | None = None,
) -> None:
    """Append one event. `detail` must never hold applicant data."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    ip = request.remote_addr if has_request_context() else None
    (db or get_db()).execute(
        "INSERT INTO audit (at, event, staff_id, ip, reference, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [datetime.now(UTC).isoformat(timespec="seconds"), event, staff_id, ip, reference, detail],
    )


def recent(limit: int = 200, db: sqlite_utils.Database | None = None) -> list[dict]:
    rows = (db or get_db()).execute(
        "SELECT a.at, a.event, a.staff_id, s.username, a.ip, a.reference, a.detail"
        " FROM audit a LEFT JOIN staff s ON s.id = a.staff_id ORDER BY a.id DESC LIMIT ?",
        [limit],
    )
    keys = ("at", "event", "staff_id", "username", "ip", "reference", "detail")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def failures_from(ip: str | None, since: str, db: sqlite_utils.Database | None = None) -> int:
    """Failed logins from one address since a moment: the basis of the per-address limit."""
    return (
        (db or get_db())
        .execute(
            "SELECT COUNT(*) FROM audit WHERE event = 'login_failed' AND ip IS ? AND at >= ?",
            [ip, since],
        )
        .fetchone()[0]
    )
