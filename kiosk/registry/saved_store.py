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

from .database import Database


class Expired(Exception):
    """There was a saved application under this lookup id, but its date has passed."""


class Deleted(Exception):
    """The saved application under this lookup id was deleted: sent, from some node."""


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing as text compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def put(db: Database, lookup: str, blob: str, expires_at: datetime, node_id: str) -> bool:
    """Keep `blob` under `lookup`, replacing what was there; True if nothing was.

    Every deposit also sweeps out what has expired, so nothing outlives its date
    by longer than the registry's quietest spell. Raises Deleted for a code whose
    application was deleted (sent) and whose tombstone still stands.
    """
    values = [blob, _utc(expires_at), node_id, _utc(_now()), lookup]
    delete_expired(db)
    with db.transaction(lock=f"saved {lookup}"):
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


def get(db: Database, lookup: str) -> str | None:
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


def delete(db: Database, lookup: str) -> bool:
    """Delete what is kept under `lookup`, leaving a tombstone; True if it was kept, or gone.

    The tombstone stands until the blob's own date, the latest any node's copy of this
    code can be kept. A deletion of something never deposited (the node saved and sent it
    while offline) leaves none: no other node can have a copy.
    """
    with db.transaction(lock=f"saved {lookup}"):
        row = db.execute(
            "SELECT expires_at FROM saved WHERE lookup_id = ? AND expires_at >= ?",
            [lookup, _utc(_now())],
        ).fetchone()
        db.execute("DELETE FROM saved WHERE lookup_id = ?", [lookup])
        if row is None:
            return gone(db, lookup)
        db.execute(
            "INSERT INTO saved_gone (lookup_id, deleted_at, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (lookup_id) DO UPDATE SET deleted_at = excluded.deleted_at,"
            " expires_at = excluded.expires_at",
            [lookup, _utc(_now()), row[0]],
        )
    return True


def gone(db: Database, lookup: str) -> bool:
    """Whether an unexpired tombstone stands for `lookup`."""
    row = db.execute(
        "SELECT 1 FROM saved_gone WHERE lookup_id = ? AND expires_at >= ?",
        [lookup, _utc(_now())],
    ).fetchone()
    return row is not None


def delete_expired(db: Database) -> int:
    """Delete every saved application and tombstone past its date; how many blobs went."""
    moment = _utc(_now())
    with db.transaction(lock="saved sweep"):  # one sweep at a time: no two delete the same rows
        db.execute("DELETE FROM saved_gone WHERE expires_at < ?", [moment])
        return db.execute("DELETE FROM saved WHERE expires_at < ?", [moment]).rowcount


def claim(db: Database, lookup: str, token: str) -> str | None:
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


def current_claim(db: Database, lookup: str) -> tuple[str, str] | None:
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
