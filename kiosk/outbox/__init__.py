"""The outbox: sealed applications waiting for the central registry to acknowledge them.

A row is written in the same transaction as its submission. Its life:

    queued ─▶ sending (lease recorded before the POST) ─▶ delivered
                 │                                      ├▶ waiting (next try at) ─▶ sending …
                 │                                      └▶ dead (reason; `flask queue retry`)
                 └ lease expired (the forwarder died) ─▶ queued again

Every change of state is one short ``BEGIN IMMEDIATE`` transaction, so a crash
at any moment leaves each row in a state the next forwarder can resume from.
A row that is resent after a crash is harmless: the registry deduplicates by
submission id and answers with the first receipt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from ..db import transaction

QUEUED, SENDING, WAITING, DELIVERED, DEAD = "queued", "sending", "waiting", "delivered", "dead"
STATES = (QUEUED, SENDING, WAITING, DELIVERED, DEAD)


@dataclass
class Item:
    submission_id: str
    envelope: str  # the sealed JSON text, sent byte for byte as stored
    attempts: int
    payload_sha256: str = ""  # of the payload before sealing: the signed receipt must match it


def now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def enqueue(db: sqlite_utils.Database, submission_id: str, sealed: str, digest: str) -> None:
    """Queue a sealed envelope for delivery. Call inside the submit transaction."""
    stamp = _iso(now())
    db["outbox"].insert(
        {
            "submission_id": submission_id,
            "status": QUEUED,
            "envelope": sealed,
            "envelope_sha256": digest,
            "attempts": 0,
            "created_at": stamp,
            "next_attempt_at": stamp,
        }
    )


# A next try never lies further ahead than the backoff cap; one that does was scheduled
# while the clock ran ahead (it was corrected since), and is due now.
CLOCK_SLACK = timedelta(minutes=1)


def claim(db: sqlite_utils.Database, lease: timedelta, backoff_cap: timedelta) -> Item | None:
    """Take the oldest item that is due and mark it `sending` until the lease runs out."""
    moment = now()
    with transaction(db):
        row = db.execute(
            "SELECT outbox.submission_id, envelope, attempts, submissions.payload_sha256"
            " FROM outbox JOIN submissions ON submissions.id = outbox.submission_id"
            " WHERE status IN (?, ?) AND (next_attempt_at <= ? OR next_attempt_at > ?)"
            " ORDER BY created_at, outbox.submission_id LIMIT 1",
            [QUEUED, WAITING, _iso(moment), _iso(moment + backoff_cap + CLOCK_SLACK)],
        ).fetchone()
        if row is None:
            return None
        db.execute(
            "UPDATE outbox SET status = ?, lease_until = ?, attempts = attempts + 1"
            " WHERE submission_id = ?",
            [SENDING, _iso(moment + lease), row[0]],
        )
    return Item(row[0], row[1], row[2] + 1, row[3])


def delivered(db: sqlite_utils.Database, submission_id: str, receipt: dict) -> None:
    """The registry has it: drop the ciphertext, keep id, hash, time and receipt."""
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, envelope = NULL, delivered_at = ?, receipt = ?,"
            " lease_until = NULL, last_error = NULL WHERE submission_id = ?",
            [DELIVERED, _iso(now()), json.dumps(receipt), submission_id],
        )


def retry_later(db: sqlite_utils.Database, submission_id: str, delay: float, error: str) -> None:
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL"
            " WHERE submission_id = ?",
            [WAITING, _iso(now() + timedelta(seconds=delay)), error[:500], submission_id],
        )


def give_up(db: sqlite_utils.Database, submission_id: str, reason: str) -> None:
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, last_error = ?, lease_until = NULL"
            " WHERE submission_id = ?",
            [DEAD, reason[:500], submission_id],
        )


def put_back(db: sqlite_utils.Database, submission_id: str) -> None:
    """Return an item untouched (the queue paused before it could be sent)."""
    with transaction(db):
        db.execute(
            "UPDATE outbox SET status = ?, attempts = MAX(attempts - 1, 0), lease_until = NULL"
            " WHERE submission_id = ?",
            [QUEUED, submission_id],
        )


def release_leases(db: sqlite_utils.Database, expired_only: bool = True) -> int:
    """Items left `sending` by a forwarder that died go back to the queue.

    A forwarder that holds the node's lock knows no other one is alive, so at its
    start it releases every lease, not only the expired ones.
    """
    cutoff = _iso(now()) if expired_only else "9999"
    with transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET status = ?, lease_until = NULL WHERE status = ? AND lease_until < ?",
            [QUEUED, SENDING, cutoff],
        )
    return cursor.rowcount


def revive_dead(db: sqlite_utils.Database) -> int:
    """`flask queue retry`: dead items go back to the queue, and waiting ones, all due now.

    Waiting items are included so that an operator can always say "try now", also
    after a clock that ran ahead scheduled them for a far future.
    """
    with transaction(db):
        dead = db.execute(
            "UPDATE outbox SET status = ?, next_attempt_at = ?, attempts = 0 WHERE status = ?",
            [QUEUED, _iso(now()), DEAD],
        ).rowcount
        waiting = db.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE status = ?", [_iso(now()), WAITING]
        ).rowcount
    return dead + waiting


def purge_delivered(db: sqlite_utils.Database, keep_days: int) -> int:
    """Forget delivered items (outbox and submission rows) older than `keep_days`."""
    cutoff = _iso(now() - timedelta(days=keep_days))
    with transaction(db):
        ids = [
            row[0]
            for row in db.execute(
                "SELECT submission_id FROM outbox WHERE status = ? AND delivered_at < ?",
                [DELIVERED, cutoff],
            )
        ]
        for submission_id in ids:
            db.execute("DELETE FROM outbox WHERE submission_id = ?", [submission_id])
            db.execute("DELETE FROM submissions WHERE id = ?", [submission_id])
    return len(ids)


# The whole queue's pause (wrong credentials) ---------------------------------------


def pause(db: sqlite_utils.Database, reason: str) -> None:
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO node_state (key, value, updated_at) VALUES ('paused', ?, ?)",
            [reason[:500], _iso(now())],
        )


def resume(db: sqlite_utils.Database) -> None:
    with transaction(db):
        db.execute("DELETE FROM node_state WHERE key = 'paused'")


def paused(db: sqlite_utils.Database) -> tuple[str, str] | None:
    """(reason, since) while the queue is paused, else None."""
    row = db.execute("SELECT value, updated_at FROM node_state WHERE key = 'paused'").fetchone()
    return (row[0], row[1]) if row else None


# Reading --------------------------------------------------------------------------


def count(db: sqlite_utils.Database, status: str = QUEUED) -> int:
    return db["outbox"].count_where("status = ?", [status])


def waiting_count(db: sqlite_utils.Database) -> int:
    """Everything not yet acknowledged by the registry and not given up on."""
    return db["outbox"].count_where("status IN (?, ?, ?)", [QUEUED, SENDING, WAITING])


def oldest_waiting(db: sqlite_utils.Database) -> datetime | None:
    """When the longest-waiting undelivered application was submitted (None: nothing waits)."""
    stamp = db.execute(
        "SELECT MIN(created_at) FROM outbox WHERE status IN (?, ?, ?)", [QUEUED, SENDING, WAITING]
    ).fetchone()[0]
    return datetime.fromisoformat(stamp) if stamp else None


def delivery_of(db: sqlite_utils.Database, submission_id: str) -> tuple[str, datetime | None]:
    """(status, delivered_at) of one submission, for its status page."""
    row = db.execute(
        "SELECT status, delivered_at FROM outbox WHERE submission_id = ?", [submission_id]
    ).fetchone()
    if row is None:
        return (DELIVERED, None)
    return row[0], datetime.fromisoformat(row[1]) if row[1] else None


def summary(db: sqlite_utils.Database) -> dict:
    """Counts by state, the oldest waiting item, the last delivery, dead items with reasons."""
    counts = dict.fromkeys(STATES, 0)
    for status, number in db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
        counts[status] = number
    oldest = db.execute(
        "SELECT MIN(created_at) FROM outbox WHERE status IN (?, ?, ?)", [QUEUED, SENDING, WAITING]
    ).fetchone()[0]
    last = db.execute("SELECT MAX(delivered_at) FROM outbox").fetchone()[0]
    dead = [
        {"submission_id": row[0], "reason": row[1], "created_at": row[2]}
        for row in db.execute(
            "SELECT submission_id, last_error, created_at FROM outbox WHERE status = ?"
            " ORDER BY created_at",
            [DEAD],
        )
    ]
    return {
        "counts": counts,
        "oldest_waiting": oldest,
        "last_delivery": last,
        "dead": dead,
        "paused": paused(db),
    }
