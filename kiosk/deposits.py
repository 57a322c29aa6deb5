"""Deposits: saved applications' ciphertexts on their way to the registry, and deletions.

A code saved on one node must open on every other (kiosk/saved.py). Each save queues
a PUT of its blob by lookup id, and a submit or an expiry queues a DELETE; the
forwarder sends them when the registry can be reached. The registry keeps bytes it
cannot decrypt. A newer action for the same lookup id replaces an older one not yet
sent, so only the last state travels.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlite_utils

PUT, DELETE = "put", "delete"


def create_schema(db: sqlite_utils.Database) -> None:
    db["deposits"].create(
        {
            "lookup_id": str,
            "action": str,  # put or delete
            "blob": str,  # JSON for a put; NULL for a delete
            "attempts": int,
            "queued_at": str,
            "next_attempt_at": str,
            "last_error": str,
        },
        pk="lookup_id",
        not_null={"action", "attempts", "queued_at", "next_attempt_at"},
        if_not_exists=True,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _queue(db: sqlite_utils.Database, lookup: str, action: str, blob: str | None) -> None:
    stamp = _now()
    db.execute(
        "INSERT OR REPLACE INTO deposits"
        " (lookup_id, action, blob, attempts, queued_at, next_attempt_at)"
        " VALUES (?, ?, ?, 0, ?, ?)",
        [lookup, action, blob, stamp, stamp],
    )


def queue_put(db: sqlite_utils.Database, lookup: str, blob: dict) -> None:
    """Queue this blob for the registry. Call inside the saving transaction."""
    _queue(db, lookup, PUT, json.dumps(blob))


def queue_delete(db: sqlite_utils.Database, lookup: str) -> None:
    """Queue the registry's copy for deletion. Call inside the deleting transaction."""
    _queue(db, lookup, DELETE, None)


class Unreachable(Exception):
    """The registry could not be asked just now (offline, down, or it answered nonsense)."""


def fetch(lookup: str) -> dict | None:
    """The blob the registry holds under this lookup id, or None if it holds none.

    Raises Unreachable when the registry cannot be asked. (Filled in with the registry's
    saved-applications API; until then every lookup elsewhere is unreachable.)
    """
    raise Unreachable("not implemented yet")
