"""Saved applications: answers put away under a return code, readable by nobody without it.

Saving turns the live draft into ciphertext and deletes the draft:

    code ─▶ lookup id = SHA-256(domain ‖ code)            (kiosk/return_codes.py)
    code + random salt ─▶ scrypt (n=2^14, r=8, p=1) ─▶ 256-bit key
    key + random nonce ─▶ AES-256-GCM(plaintext JSON, associated data = lookup id ‖ format)

The node keeps the lookup id, the salt, the nonce, the ciphertext and the expiry, never
the code, so a copy of the database (or of the registry's, where the same bytes are
deposited) reveals no application. scrypt makes each guess cost tens of milliseconds and
16 MiB of memory on top of the 60 bits a code carries.

Resuming decrypts into a normal draft (kiosk/drafts.py) that remembers its code, so
saving again keeps the same code. One code has one live draft at a time: resuming ends
the draft an earlier resume opened, and that device is told so on its next page.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
import sqlite_utils
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import current_app
from flask.cli import with_appcontext

from . import deposits, drafts, return_codes
from .db import forget_deleted, get_db, transaction
from .documents import store as documents

FORMAT = 1
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # about 50–100 ms and 16 MiB; see docs/benchmarks.md
SALT_BYTES = 16
NONCE_BYTES = 12
# The most any code's blob may ask of the KDF: a blob from elsewhere (the registry) names
# its own parameters, and must not be able to make this node spend seconds or gigabytes.
SCRYPT_MAX_N = 2**17
# Why a live draft ended because of another device: its code was resumed there, or the
# application was sent from there (kiosk/claims.py).
OPENED, SENT = "opened", "sent"


class WrongCode(Exception):
    """The ciphertext does not open with this code (or it was tampered with)."""


@dataclass
class Saved:
    """What a saved application holds once opened with its code."""

    answers: dict
    submission_id: str
    locale: str
    worker_id: int | None = None
    pending: dict = field(default_factory=dict)  # {"slug": …, "form": {name: [values]}}


def create_schema(db: sqlite_utils.Database) -> None:
    db["saved"].create(
        {
            "lookup_id": str,  # SHA-256 of the code with a domain string; never the code
            "blob": str,  # JSON: format, KDF and its salt, nonce, ciphertext (see seal)
            "saved_at": str,
            "expires_at": str,
            "live_draft_id": str,  # the draft the last resume opened, ended by the next one
        },
        pk="lookup_id",
        not_null={"blob", "saved_at", "expires_at"},
        if_not_exists=True,
    )
    db["saved"].create_index(["expires_at"], if_not_exists=True)
    db["ended_drafts"].create({"draft_id": str, "ended_at": str}, pk="draft_id", if_not_exists=True)
    if "why" not in db["ended_drafts"].columns_dict:  # added after the table
        db["ended_drafts"].add_column("why", str)


def _now() -> datetime:
    return datetime.now(UTC)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key(code: str, salt: bytes, params: dict) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
    return kdf.derive(code.replace("-", "").encode("ascii"))


def _associated(lookup: str) -> bytes:
    return f"{lookup}|{FORMAT}".encode("ascii")


def seal(code: str, content: Saved, expires_at: str, params: dict | None = None) -> dict:
    """Encrypt `content` under `code`: the blob kept here and deposited at the registry."""
    params = params or current_app.config.get("SAVED_SCRYPT", SCRYPT)
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    plaintext = json.dumps(content.__dict__, ensure_ascii=False).encode("utf-8")
    lookup = return_codes.lookup_id(code)
    ciphertext = AESGCM(_key(code, salt, params)).encrypt(nonce, plaintext, _associated(lookup))
    return {
        "format": FORMAT,
        "kdf": {"name": "scrypt", **params, "salt": _b64(salt)},
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
        "expires_at": expires_at,
    }


def open_blob(code: str, blob: dict) -> Saved:
    """Decrypt a blob with its code; WrongCode if it does not open (or is not one of ours)."""
    try:
        kdf = blob["kdf"]
        params = {"n": int(kdf["n"]), "r": int(kdf["r"]), "p": int(kdf["p"])}
        if blob["format"] != FORMAT or kdf["name"] != "scrypt" or not _sane(params):
            raise WrongCode("unknown format")
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(blob["nonce"], validate=True)
        ciphertext = base64.b64decode(blob["ciphertext"], validate=True)
        associated = _associated(return_codes.lookup_id(code))
        plaintext = AESGCM(_key(code, salt, params)).decrypt(nonce, ciphertext, associated)
        return Saved(**json.loads(plaintext))
    except (KeyError, TypeError, ValueError, InvalidTag) as error:
        raise WrongCode(type(error).__name__) from None


def _sane(params: dict) -> bool:
    n = params["n"]
    return 2 <= n <= SCRYPT_MAX_N and n & (n - 1) == 0 and params["r"] == 8 and params["p"] == 1


def expiry() -> datetime:
    """KIOSK_SAVED_DAYS from now, or the competition's close if that comes first."""
    config = current_app.config
    days = _now() + timedelta(days=config["SAVED_DAYS"])
    return min(days, config["CLOSES"].astimezone(UTC))


def save(draft: drafts.Draft, locale: str, pending: dict | None = None) -> tuple[str, datetime]:
    """Put the draft away under its code (a new one the first time) and delete the draft.

    Returns the code and the date it is kept until. The draft row goes in the same
    transaction as the ciphertext comes in, and the WAL is emptied after, as at submit.
    """
    db = get_db()
    code = draft.return_code or return_codes.new_code()
    until = expiry()
    content = Saved(draft.answers, draft.submission_id, locale, draft.worker_id, pending or {})
    blob = seal(code, content, until.isoformat())
    lookup = return_codes.lookup_id(code)
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO saved (lookup_id, blob, saved_at, expires_at, live_draft_id)"
            " VALUES (?, ?, ?, ?, NULL)",
            [lookup, json.dumps(blob), _now().isoformat(), until.isoformat()],
        )
        documents.put_away(db, draft.submission_id, lookup)  # before the draft goes
        db.execute("DELETE FROM drafts WHERE id = ?", [draft.id])
        deposits.queue_put(db, lookup, blob)
    forget_deleted(db)
    return code, until


def find(code: str) -> dict | None:
    """The blob saved here under this code, or None (none, or expired)."""
    row = (
        get_db()
        .execute(
            "SELECT blob FROM saved WHERE lookup_id = ? AND expires_at >= ?",
            [return_codes.lookup_id(code), _now().isoformat()],
        )
        .fetchone()
    )
    return json.loads(row[0]) if row else None


def expired_here(code: str) -> bool:
    """Whether this code's application was saved here and its date has passed.

    Only until `delete_expired` removes the row; after that the code is unknown here,
    as any other is. Lets the resume page say "too late" rather than "wrong code".
    """
    row = (
        get_db()
        .execute(
            "SELECT 1 FROM saved WHERE lookup_id = ? AND expires_at < ?",
            [return_codes.lookup_id(code), _now().isoformat()],
        )
        .fetchone()
    )
    return row is not None


def expires(blob: dict) -> datetime | None:
    """The date a blob (from here or the registry) is kept until; None if it names none."""
    try:
        until = datetime.fromisoformat(blob["expires_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return until if until.tzinfo else None


def _dummy_blob() -> dict:
    """A blob no code opens, with the KDF settings real ones have: see `open_nothing`."""
    params = current_app.config.get("SAVED_SCRYPT", SCRYPT)
    return {
        "format": FORMAT,
        "kdf": {"name": "scrypt", **params, "salt": _b64(bytes(SALT_BYTES))},
        "nonce": _b64(bytes(NONCE_BYTES)),
        "ciphertext": _b64(bytes(32)),
    }


def open_nothing(code: str) -> None:
    """Spend on a code that found nothing what a wrong code costs: one run of the KDF.

    Without it, "no such code" answers in a microsecond and "wrong code for this blob"
    in tens of milliseconds, and the difference would tell a guesser which lookup ids
    exist here.
    """
    with contextlib.suppress(WrongCode):
        open_blob(code, _dummy_blob())


def resume(code: str, blob: dict, opened: Saved | None = None) -> tuple[drafts.Draft, Saved]:
    """Open the blob and make it the one live draft for this code.

    A blob fetched from the registry is kept here too (replacing an older copy), so saving
    again, the deletion at submit and a resume while offline work on this node as on the
    one that saved it. `opened` is the
    blob already opened with `open_blob` (to check who may resume it): the KDF, the
    slow part, then runs once.
    """
    content = opened or open_blob(code, blob)
    db = get_db()
    lookup = return_codes.lookup_id(code)
    with transaction(db):
        row = db.execute("SELECT live_draft_id FROM saved WHERE lookup_id = ?", [lookup]).fetchone()
        opened = drafts.Draft("", content.submission_id, content.answers, content.worker_id)
        opened.return_code, opened.pending = code, content.pending
        draft = drafts.create(db, worker_id=content.worker_id, resumed=opened)
        # The earlier draft ends after this one exists: the files they share stay.
        if row and row[0]:
            _end(db, row[0])
        documents.take_back(db, content.submission_id)
        # The opened blob is the newest (it may be the registry's, saved again elsewhere):
        # keep it here, so this node offers the same answers when it is next offline.
        db.execute(
            "INSERT INTO saved (lookup_id, blob, saved_at, expires_at, live_draft_id)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (lookup_id) DO UPDATE SET blob = excluded.blob,"
            " expires_at = excluded.expires_at, live_draft_id = excluded.live_draft_id",
            [lookup, json.dumps(blob), _now().isoformat(), blob["expires_at"], draft.id],
        )
    forget_deleted(db)
    return draft, content


def _end(db: sqlite_utils.Database, draft_id: str, why: str = OPENED) -> None:
    """End the draft an earlier resume opened; its device is told why on its next page."""
    if db.execute("DELETE FROM drafts WHERE id = ?", [draft_id]).rowcount:
        db.execute(
            "INSERT OR REPLACE INTO ended_drafts (draft_id, ended_at, why) VALUES (?, ?, ?)",
            [draft_id, _now().isoformat(), why],
        )


def end(draft_id: str, why: str = OPENED) -> None:
    """End a draft whose code another node resumed (OPENED) or sent (SENT) since.

    kiosk/claims.py learns either from the registry.
    """
    db = get_db()
    with transaction(db):
        _end(db, draft_id, why)
    forget_deleted(db)


def why_ended(draft_id: str | None) -> str | None:
    """OPENED or SENT, once, for a draft that ended because of another device; else None."""
    if not draft_id:
        return None
    db = get_db()
    row = db.execute("SELECT why FROM ended_drafts WHERE draft_id = ?", [draft_id]).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM ended_drafts WHERE draft_id = ?", [draft_id])
    return row[0] or OPENED


def forget(code: str | None, db: sqlite_utils.Database | None = None) -> None:
    """Delete what is saved under this code (after submit). Inside the caller's transaction."""
    if not code:
        return
    db = db or get_db()
    lookup = return_codes.lookup_id(code)
    db.execute("DELETE FROM saved WHERE lookup_id = ?", [lookup])
    deposits.queue_delete(db, lookup)


def delete_expired(db: sqlite_utils.Database | None = None) -> int:
    """Delete every saved application past its date; ended-draft notes older than a day.

    The registry's copy is left to the registry, which deletes it at its own date: the
    code may have been saved again on another node since, with a later date, and a
    deletion from here would take that newer copy away.
    """
    db = db or get_db()
    now = _now()
    with transaction(db):
        gone = db.execute("DELETE FROM saved WHERE expires_at < ?", [now.isoformat()]).rowcount
        db.execute(
            "DELETE FROM ended_drafts WHERE ended_at < ?", [(now - timedelta(days=1)).isoformat()]
        )
    if gone:
        forget_deleted(db)
    return gone


@click.command("expire-saved")
@with_appcontext
def expire_saved_command() -> None:
    """Delete saved applications past their date (the forwarder also does so every hour)."""
    click.echo(f"Deleted {delete_expired()} expired saved applications.")
