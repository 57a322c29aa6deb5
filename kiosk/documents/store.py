"""Supporting documents kept on the node: sealed bytes, by application and hash.

A file is sealed to the registry's key the moment it is checked (kiosk/envelope.py,
`seal_file`), so what this table holds no machine here can read. What the applicant
sees of a file (its clean name, type, size and hash) is an answer like any other,
kept in the draft's answers under `attachments`; this table holds the bytes.

Each row has a state, which says what keeps it alive:

    draft    ─▶ while a draft with its submission id lives; with the last one it goes, or
                back to `saved` when its saved copy (`saved_lookup`) lists it still
    saved    ─▶ while the saved application under `saved_lookup` is kept (kiosk/saved.py)
    outgoing ─▶ submitted: until the registry holds it (docs/registry-api.md)

Triggers delete a row when what keeps it alive goes, whichever code deletes it: a
draft's end (start again, a kiosk's time-out, expiry, a resume elsewhere) or a saved
application's (submit, expiry). The connection's `secure_delete` overwrites the bytes;
callers empty the WAL after, as for drafts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from .. import envelope

DRAFT, SAVED, OUTGOING = "draft", "saved", "outgoing"


@dataclass(frozen=True)
class Kept:
    """One file as the applicant sees it, and as the payload lists it."""

    id: str
    name: str
    media_type: str
    size: int
    sha256: str

    def as_answer(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }


def create_schema(db: sqlite_utils.Database) -> None:
    """The table and the triggers that tie each row's life to its draft or saved copy."""
    db["attachments"].create(
        {
            "id": str,  # random: what the page's Remove button names
            "submission_id": str,
            "sha256": str,  # of the cleaned file, before sealing
            "state": str,  # draft, saved or outgoing
            "saved_lookup": str,  # the saved application's lookup id, while saved
            "name": str,
            "media_type": str,
            "size": int,
            "encryption": str,  # HPKE, or none on a developer's machine
            "sealed": bytes,
            "added_at": str,
            # Delivery (kiosk/outbox/files.py): where the registry takes this file's upload,
            # whether it holds it all, and how often it could not open the finished file.
            "upload_url": str,
            "uploaded": int,
            "refusals": int,
        },
        pk="id",
        not_null={"submission_id", "sha256", "state", "name", "media_type", "size", "sealed"},
        defaults={"uploaded": 0, "refusals": 0},
        if_not_exists=True,
    )
    db["attachments"].create_index(["submission_id", "sha256"], unique=True, if_not_exists=True)
    # A draft's last end: its files go, but those its saved copy lists go back to that copy
    # (a resume left unfinished must not take them from the code). Dropped and made again,
    # so a database made before this rule gets it too.
    db.execute("DROP TRIGGER IF EXISTS attachments_end_with_their_draft")
    db.execute(
        "CREATE TRIGGER attachments_end_with_their_draft AFTER DELETE ON drafts"
        " WHEN NOT EXISTS (SELECT 1 FROM drafts WHERE submission_id = OLD.submission_id)"
        " BEGIN"
        " UPDATE attachments SET state = 'saved'"
        " WHERE state = 'draft' AND submission_id = OLD.submission_id"
        " AND saved_lookup IN (SELECT lookup_id FROM saved);"
        " DELETE FROM attachments WHERE state = 'draft' AND submission_id = OLD.submission_id;"
        " END"
    )
    db.execute(
        "CREATE TRIGGER IF NOT EXISTS attachments_end_with_their_saved_copy AFTER DELETE ON saved"
        " BEGIN DELETE FROM attachments WHERE state = 'saved'"
        " AND saved_lookup = OLD.lookup_id; END"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add(
    db: sqlite_utils.Database,
    submission_id: str,
    cleaned,
    *,
    node_id: str,
    registry_key,
) -> Kept:
    """Seal a checked file and keep it for this application.

    `cleaned` is a kiosk.documents.checks.Cleaned. A file this application already holds
    (by hash: an earlier draft of the same code may have left it) is kept once, and given
    back as it is.
    """
    row = db.execute(
        "SELECT id, name, media_type, size, sha256 FROM attachments"
        " WHERE submission_id = ? AND sha256 = ?",
        [submission_id, cleaned.sha256],
    ).fetchone()
    if row:
        db.execute(
            "UPDATE attachments SET state = ? WHERE id = ? AND state = ?", [DRAFT, row[0], SAVED]
        )
        return Kept(*row)
    encryption, sealed = envelope.seal_file(
        cleaned.data,
        node_id=node_id,
        submission_id=submission_id,
        sha256=cleaned.sha256,
        registry_key=registry_key,
    )
    kept = Kept(
        secrets.token_urlsafe(12), cleaned.name, cleaned.media_type, cleaned.size, cleaned.sha256
    )
    db["attachments"].insert(
        {
            "id": kept.id,
            "submission_id": submission_id,
            "sha256": kept.sha256,
            "state": DRAFT,
            "saved_lookup": None,
            "name": kept.name,
            "media_type": kept.media_type,
            "size": kept.size,
            "encryption": encryption,
            "sealed": sealed,
            "added_at": _now(),
        }
    )
    return kept


def remove(db: sqlite_utils.Database, submission_id: str, attachment_id: str) -> bool:
    """Delete one file of this application's draft; True if it was there."""
    cursor = db.execute(
        "DELETE FROM attachments WHERE id = ? AND submission_id = ? AND state = ?",
        [attachment_id, submission_id, DRAFT],
    )
    return cursor.rowcount > 0


def held(db: sqlite_utils.Database, submission_id: str) -> set[str]:
    """The hashes of the files this node holds for an application, in any state."""
    rows = db.execute("SELECT sha256 FROM attachments WHERE submission_id = ?", [submission_id])
    return {row[0] for row in rows}


def put_away(db: sqlite_utils.Database, submission_id: str, lookup: str) -> None:
    """Saved under a return code: the files now live as long as the saved copy.

    Call inside the saving transaction, before the draft is deleted.
    """
    db.execute(
        "UPDATE attachments SET state = ?, saved_lookup = ? WHERE submission_id = ? AND state = ?",
        [SAVED, lookup, submission_id, DRAFT],
    )


def take_back(db: sqlite_utils.Database, submission_id: str) -> None:
    """Resumed: the saved files belong to the live draft again.

    They keep their saved copy's lookup id: should this draft end unsent, they go back to
    that copy, which still lists them.
    """
    db.execute(
        "UPDATE attachments SET state = ? WHERE submission_id = ? AND state = ?",
        [DRAFT, submission_id, SAVED],
    )


def send(db: sqlite_utils.Database, submission_id: str, listed: list[str]) -> None:
    """Submitted: the files the payload lists go out; the draft's others go with the draft.

    Call inside the submitting transaction, before the draft is deleted.
    """
    marks = ", ".join("?" for _ in listed)
    if listed:
        db.execute(
            f"UPDATE attachments SET state = ?, saved_lookup = NULL"
            f" WHERE submission_id = ? AND sha256 IN ({marks})",
            [OUTGOING, submission_id, *listed],
        )


@dataclass(frozen=True)
class Outgoing:
    """One submitted file on its way to the registry."""

    id: str
    sha256: str
    encryption: str
    sealed: bytes
    upload_url: str | None
    uploaded: bool
    refusals: int


def outgoing(db: sqlite_utils.Database, submission_id: str) -> list[Outgoing]:
    """The submitted files of one application, in the order they were added."""
    rows = db.execute(
        "SELECT id, sha256, encryption, sealed, upload_url, uploaded, refusals FROM attachments"
        " WHERE submission_id = ? AND state = ? ORDER BY added_at, id",
        [submission_id, OUTGOING],
    )
    return [
        Outgoing(row[0], row[1], row[2] or envelope.PLAIN, row[3], row[4], bool(row[5]), row[6])
        for row in rows
    ]


def upload_started(db: sqlite_utils.Database, attachment_id: str, url: str) -> None:
    """The registry made an upload for this file: kept before the first chunk goes."""
    db.execute("UPDATE attachments SET upload_url = ? WHERE id = ?", [url, attachment_id])


def upload_finished(db: sqlite_utils.Database, attachment_id: str) -> None:
    db.execute("UPDATE attachments SET uploaded = 1 WHERE id = ?", [attachment_id])


def upload_again(db: sqlite_utils.Database, attachment_id: str, refused: bool = False) -> None:
    """Start this file's upload over: the registry lost it, or could not open it."""
    db.execute(
        "UPDATE attachments SET upload_url = NULL, uploaded = 0, refusals = refusals + ?"
        " WHERE id = ?",
        [1 if refused else 0, attachment_id],
    )


def missing_again(db: sqlite_utils.Database, submission_id: str, missing: list[str]) -> int:
    """The registry's receipt says it lacks these files: upload them again; how many."""
    count = 0
    for sha256 in missing:
        count += db.execute(
            "UPDATE attachments SET upload_url = NULL, uploaded = 0"
            " WHERE submission_id = ? AND sha256 = ? AND state = ?",
            [submission_id, sha256, OUTGOING],
        ).rowcount
    return count


def delivered(db: sqlite_utils.Database, submission_id: str) -> int:
    """The registry signed for the application and all its files: their bytes go."""
    return db.execute(
        "DELETE FROM attachments WHERE submission_id = ? AND state = ?",
        [submission_id, OUTGOING],
    ).rowcount
