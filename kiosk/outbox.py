"""The outbox: submissions waiting to be delivered to the central registry.

A row is written in the same transaction as its submission, so a submission
can never exist without a delivery job, nor a job without its submission.
"""

from __future__ import annotations

import sqlite_utils

QUEUED = "queued"


def enqueue(db: sqlite_utils.Database, submission_id: str, body: str, now: str) -> None:
    """Queue a payload for delivery. Call inside the submit transaction."""
    db["outbox"].insert(
        {
            "submission_id": submission_id,
            "status": QUEUED,
            "payload": body,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
    )


def count(db: sqlite_utils.Database, status: str = QUEUED) -> int:
    return db["outbox"].count_where("status = ?", [status])
