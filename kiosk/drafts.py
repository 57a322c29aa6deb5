"""Drafts: an applicant's answers so far, kept on the server until they submit.

The browser holds only a random draft id in its session cookie; the answers
stay in SQLite, so the back button, a language switch or a closed tab never
lose them. A draft is the only plaintext personal data on a node: it is
deleted at submit, at "start again" and when it expires.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
import sqlite_utils
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils.db import NotFoundError

from .db import forget_deleted, get_db


@dataclass
class Draft:
    id: str
    submission_id: str
    answers: dict = field(default_factory=dict)
    worker_id: int | None = None  # the social worker filling it in with the applicant
    return_code: str | None = None  # set once saved (kiosk/saved.py): saving again keeps it
    pending: dict = field(default_factory=dict)  # a page saved unfinished: {"slug", "form"}


def _now() -> datetime:
    return datetime.now(UTC)


def lifetime() -> timedelta:
    """How long an untouched draft lives: hours on the web, minutes on a public kiosk.

    On a kiosk the server forgets an abandoned application on its own clock, idle time
    plus the warning's grace time, even when no script runs in the browser.
    """
    config = current_app.config
    if config["KIOSK_MODE"]:
        return timedelta(seconds=config["IDLE_SECONDS"] + config["GRACE_SECONDS"])
    return timedelta(hours=config["DRAFT_HOURS"])


def _expiry() -> str:
    return (_now() + lifetime()).isoformat()


def create(
    db: sqlite_utils.Database | None = None,
    worker_id: int | None = None,
    resumed: Draft | None = None,
) -> Draft:
    """Start an empty draft with a secret id and the UUID its submission will carry.

    A `resumed` draft (opened from a saved application) brings its answers, its
    submission UUID, its code and any unfinished page; it still gets a new secret id.
    """
    db = db or get_db()
    delete_expired(db)
    draft = Draft(
        id=secrets.token_urlsafe(24), submission_id=str(uuid.uuid4()), worker_id=worker_id
    )
    if resumed is not None:
        draft.submission_id, draft.answers = resumed.submission_id, resumed.answers
        draft.return_code, draft.pending = resumed.return_code, resumed.pending
    elif current_app.config["KIOSK_REGION"]:  # a kiosk suggests its own region
        draft.answers["region"] = current_app.config["KIOSK_REGION"]
    now = _now().isoformat()
    db["drafts"].insert(
        {
            "id": draft.id,
            "submission_id": draft.submission_id,
            "answers": json.dumps(draft.answers, ensure_ascii=False),
            "worker_id": worker_id,
            "return_code": draft.return_code,
            "pending": json.dumps(draft.pending, ensure_ascii=False),
            "created_at": now,
            "updated_at": now,
            "expires_at": _expiry(),
        }
    )
    return draft


def load(draft_id: str | None, db: sqlite_utils.Database | None = None) -> Draft | None:
    """The draft with this id, or None if there is none or it has expired."""
    if not draft_id:
        return None
    db = db or get_db()
    try:
        row = db["drafts"].get(draft_id)
    except NotFoundError:
        return None
    if row["expires_at"] < _now().isoformat():
        delete(draft_id, db)
        return None
    return Draft(
        row["id"],
        row["submission_id"],
        json.loads(row["answers"]),
        row["worker_id"],
        row["return_code"],
        json.loads(row["pending"] or "{}"),
    )


def by_worker(worker_id: int, db: sqlite_utils.Database | None = None) -> list[Draft]:
    """The unexpired drafts a social worker started, newest first."""
    rows = (db or get_db()).execute(
        "SELECT id, submission_id, answers, worker_id FROM drafts"
        " WHERE worker_id = ? AND expires_at >= ? ORDER BY updated_at DESC",
        [worker_id, _now().isoformat()],
    )
    return [Draft(row[0], row[1], json.loads(row[2]), row[3]) for row in rows]


def touch(draft_id: str, db: sqlite_utils.Database | None = None) -> None:
    """Push a draft's expiry forward: the person is still there."""
    (db or get_db()).execute("UPDATE drafts SET expires_at = ? WHERE id = ?", [_expiry(), draft_id])


def save(draft: Draft, db: sqlite_utils.Database | None = None) -> None:
    """Store the draft's answers and push its expiry forward."""
    db = db or get_db()
    db["drafts"].update(
        draft.id,
        {
            "answers": json.dumps(draft.answers, ensure_ascii=False),
            "pending": json.dumps(draft.pending, ensure_ascii=False),
            "updated_at": _now().isoformat(),
            "expires_at": _expiry(),
        },
    )


def delete(draft_id: str, db: sqlite_utils.Database | None = None) -> None:
    """Delete a draft. Inside a transaction, the caller runs `forget_deleted` after it."""
    db = db or get_db()
    db.execute("DELETE FROM drafts WHERE id = ?", [draft_id])
    if not db.conn.in_transaction:
        forget_deleted(db)


def delete_expired(db: sqlite_utils.Database | None = None) -> int:
    """Delete every expired draft; return how many went."""
    db = db or get_db()
    cursor = db.execute("DELETE FROM drafts WHERE expires_at < ?", [_now().isoformat()])
    if cursor.rowcount and not db.conn.in_transaction:
        forget_deleted(db)
    return cursor.rowcount


@click.command("expire-drafts")
@with_appcontext
def expire_drafts_command() -> None:
    """Delete drafts nobody has touched for KIOSK_DRAFT_HOURS."""
    click.echo(f"Deleted {delete_expired()} expired drafts.")
