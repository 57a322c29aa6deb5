"""Turning a draft into a submission, once, durably.

Submit is one ``BEGIN IMMEDIATE`` transaction: the submission row, its outbox
row and the deletion of the draft commit together or not at all. The draft's
UUID becomes the submission id, so a double click or a replayed POST finds the
draft gone and the submission already there, and gets the same confirmation.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils.db import NotFoundError

from . import drafts, envelope, outbox, payload, saved
from .db import forget_deleted, get_db, transaction
from .documents import store as documents
from .documents import uploads
from .identifiers import new_reference
from .journey import steps
from .node import identity

log = logging.getLogger(__name__)


class NotSendable(Exception):
    """The answers would make a payload the registry refuses; nothing was submitted.

    `problems` name the fields and rules only, never the values.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Assisted:
    """A social worker filled the application in with the applicant."""

    worker_id: int
    centre: str
    consent_method: str

    def as_payload(self) -> dict:
        return {
            "worker_id": self.worker_id,
            "centre": self.centre,
            "consent_method": self.consent_method,
        }


@dataclass
class Submission:
    id: str
    reference: str
    locale: str
    region: str
    applicant_type: str
    submitted_at: datetime


def submit(draft_id: str, locale: str, assisted: Assisted | None = None) -> str | None:
    """Submit the draft; return the submission id, or None if the draft is gone.

    Raises NotSendable (and keeps the draft) when the payload would break the registry's
    schema: an application the registry would refuse for good must never be shown as sent.
    sqlite3.OperationalError (a full disk, a lock held too long) also leaves the draft as it was.
    """
    db = get_db()
    with transaction(db):
        draft = drafts.load(draft_id, db)
        if draft is None:
            return None
        if get(draft.submission_id) is None:
            _insert(db, draft, locale, assisted)
        drafts.delete(draft.id, db)
        saved.forget(draft.return_code, db)  # sent: the saved copy is no longer needed
    forget_deleted(db)
    return draft.submission_id


def _masked_applicant(answers: dict) -> str:
    """The applicant's name with all but each word's first letter hidden, for staff lists."""
    name = answers.get("full_name") or answers.get("organisation_name") or ""
    return " ".join(word[0] + "***" for word in name.split()) or "***"


def _attachments(db, draft: drafts.Draft) -> list[dict]:
    """The files the answers list that this node holds (sealed): what the payload names."""
    held = documents.held(db, draft.submission_id)
    return [item for item in uploads.listed(draft.answers) if item.get("sha256") in held]


def _insert(db, draft: drafts.Draft, locale: str, assisted: Assisted | None) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    attachments = _attachments(db, draft)
    for _attempt in range(10):
        reference = new_reference()
        application = payload.build(
            steps.shown_answers(draft.answers),
            submission_id=draft.submission_id,
            reference=reference,
            submitted_at=now,
            locale=locale,
            assisted=assisted.as_payload() if assisted else None,
            attachments=attachments,
        )
        problems = payload.problems(application)
        if problems:
            log.error("Submit refused, the payload breaks the schema: %s", "; ".join(problems))
            raise NotSendable(problems)
        body = payload.encode(application)
        # Sealed in memory: the plaintext payload never reaches the disk.
        sealed = envelope.canonical(identity().seal(body.encode(), draft.submission_id))
        try:
            with db.atomic():  # a savepoint: a clash of references retries only this
                db["submissions"].insert(
                    {
                        "id": draft.submission_id,
                        "reference": reference,
                        "locale": locale,
                        "region": draft.answers["region"],
                        "applicant_type": draft.answers["applicant_type"],
                        "submitted_at": now,
                        "payload_sha256": payload.sha256(body),
                        "worker_id": assisted.worker_id if assisted else None,
                        "applicant_masked": _masked_applicant(draft.answers) if assisted else None,
                    }
                )
        except sqlite3.IntegrityError:
            continue
        outbox.enqueue(db, draft.submission_id, sealed, payload.sha256(sealed))
        documents.send(db, draft.submission_id, [item["sha256"] for item in attachments])
        return
    raise RuntimeError("could not find a free reference number")


def by_reference(reference: str) -> Submission | None:
    """The submission with this reference (already normalised), if this node has it."""
    row = get_db().execute("SELECT id FROM submissions WHERE reference = ?", [reference]).fetchone()
    return get(row[0]) if row else None


def delivery(submission: Submission) -> tuple[str, datetime | None]:
    """("waiting" | "problem" | "received", when the registry received it)."""
    status, delivered_at = outbox.delivery_of(get_db(), submission.id)
    if status == outbox.DELIVERED:
        return "received", delivered_at
    if status == outbox.DEAD:
        return "problem", None
    return "waiting", None


def get(submission_id: str | None) -> Submission | None:
    if not submission_id:
        return None
    try:
        row = get_db()["submissions"].get(submission_id)
    except NotFoundError:
        return None
    return Submission(
        id=row["id"],
        reference=row["reference"],
        locale=row["locale"],
        region=row["region"],
        applicant_type=row["applicant_type"],
        submitted_at=datetime.fromisoformat(row["submitted_at"]),
    )
