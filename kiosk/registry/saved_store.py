"""The registry's saved applications: ciphertexts deposited by nodes, kept by lookup id.

The registry never sees a return code, so it cannot open what it keeps: it stores
the bytes a node sent, answers them to any node that asks by the same lookup id,
and deletes them when a node says so or their date has passed. One row per
lookup id; a later deposit replaces the earlier one (the applicant saved again,
perhaps on another node).

A deletion leaves a tombstone (table `saved_gone`) until the blob's own date: the
application was sent from one node, and another node may still hold an older copy of
its own. "Deleted" rather than "not found" tells that node not to open it, and a late
deposit of the same code is refused, so one application is never sent twice.

Each row may also carry the newest claim: the random token of the node whose resume
opened the one live draft for this code (docs/registry-api.md, "Claims"). It lives
and dies with the blob, and a new deposit keeps it: the applicant saving again on
the node that claimed it does not give a draft on another node its life back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from ..db import transaction


class Expired(Exception):
    """There was a saved application under this lookup id, but its date has passed."""


class Deleted(Exception):
    """The saved application under this lookup id was deleted: sent, from some node."""


def create_schema(db: sqlite_utils.Database) -> None:
    db["saved"].create(
        {
            "lookup_id": str,  # SHA-256 of a return code and a domain string (return_codes.py)
            "blob": str,  # the JSON text exactly as the node sent it
            "expires_at": str,  # the blob's own date, in UTC, for comparing as text
            "node_id": str,  # the node that deposited this version
            "stored_at": str,
        },
        pk="lookup_id",
        not_null={"blob", "expires_at", "node_id", "stored_at"},
        if_not_exists=True,
    )
    db["saved"].create_index(["expires_at"], if_not_exists=True)
    for column in ("claim", "claimed_at"):  # added after the table, as kiosk/db.py does
        if column not in db["saved"].columns_dict:
            db["saved"].add_column(column, str)
    db["saved_gone"].create(
        {"lookup_id": str, "deleted_at": str, "expires_at": str},
        pk="lookup_id",
        not_null={"deleted_at", "expires_at"},
        if_not_exists=True,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing as text compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def put(
    db: sqlite_utils.Database, lookup: str, blob: str, expires_at: datetime, node_id: str
) -> bool:
    """Keep `blob` under `lookup`, replacing what was there; True if nothing was.

    Every deposit also sweeps out what has expired, so nothing outlives its date
    by longer than the registry's quietest spell. Raises Deleted for a code whose
    application was deleted (sent) and whose tombstone still stands.
    """
    values = [blob, _utc(expires_at), node_id, _utc(_now()), lookup]
    with transaction(db):
        delete_expired(db)
        if gone(db, lookup):
            raise Deleted(lookup)
        replaced = db.execute(
            "UPDATE saved SET blob = ?, expires_at = ?, node_id = ?, stored_at = ?"
            " WHERE lookup_id = ?",
            values,
        ).rowcount
        if not replaced:
            db.execute(
                "INSERT INTO saved (blob, expires_at, node_id, stored_at, lookup_id)"
                " VALUES (?, ?, ?, ?, ?)",
                values,
            )
    return not replaced


def get(db: sqlite_utils.Database, lookup: str) -> str | None:
    """The blob kept under `lookup`, or None.

    Raises Expired (and deletes it) past its date, and Deleted while its tombstone stands.
    """
    row = db.execute("SELECT blob, expires_at FROM saved WHERE lookup_id = ?", [lookup]).fetchone()
    if row is None:
        if gone(db, lookup):
            raise Deleted(lookup)
        return None
    if row[1] < _utc(_now()):
        db.execute("DELETE FROM saved WHERE lookup_id = ?", [lookup])
        raise Expired(lookup)
    return row[0]


def delete(db: sqlite_utils.Database, lookup: str) -> bool:
    """Delete what is kept under `lookup`, leaving a tombstone; True if it was kept, or gone.

    The tombstone stands until the blob's own date, the latest any node's copy of this
    code can be kept. A deletion of something never deposited (the node saved and sent it
    while offline) leaves none: no other node can have a copy.
    """
    with transaction(db):
        row = db.execute(
            "SELECT expires_at FROM saved WHERE lookup_id = ? AND expires_at >= ?",
            [lookup, _utc(_now())],
        ).fetchone()
        db.execute("DELETE FROM saved WHERE lookup_id = ?", [lookup])
        if row is None:
            return gone(db, lookup)
        db.execute(
            "INSERT OR REPLACE INTO saved_gone (lookup_id, deleted_at, expires_at)"
            " VALUES (?, ?, ?)",
            [lookup, _utc(_now()), row[0]],
        )
    return True


def gone(db: sqlite_utils.Database, lookup: str) -> bool:
    """Whether an unexpired tombstone stands for `lookup`."""
    row = db.execute(
        "SELECT 1 FROM saved_gone WHERE lookup_id = ? AND expires_at >= ?",
        [lookup, _utc(_now())],
    ).fetchone()
    return row is not None


def delete_expired(db: sqlite_utils.Database) -> int:
    """Delete every saved application and tombstone past its date; how many blobs went."""
    moment = _utc(_now())
    db.execute("DELETE FROM saved_gone WHERE expires_at < ?", [moment])
    return db.execute("DELETE FROM saved WHERE expires_at < ?", [moment]).rowcount


def claim(db: sqlite_utils.Database, lookup: str, token: str) -> str | None:
    """Record `token` as the newest claim on a blob kept and unexpired; when, or None.

    A claim without a blob is refused: nothing could be resumed under it, and the
    row it would need would outlive every deletion.
    """
    moment = _utc(_now())
    changed = db.execute(
        "UPDATE saved SET claim = ?, claimed_at = ? WHERE lookup_id = ? AND expires_at >= ?",
        [token, moment, lookup, moment],
    ).rowcount
    return moment if changed else None


def current_claim(db: sqlite_utils.Database, lookup: str) -> tuple[str, str] | None:
    """(claim, claimed_at) on an unexpired blob, or None: no blob, expired, or no claim yet.

    Raises Deleted while a tombstone stands: every live draft of this code should end.
    """
    if gone(db, lookup):
        raise Deleted(lookup)
    row = db.execute(
        "SELECT claim, claimed_at FROM saved"
        " WHERE lookup_id = ? AND expires_at >= ? AND claim IS NOT NULL",
        [lookup, _utc(_now())],
    ).fetchone()
    return (row[0], row[1]) if row else None
