"""Deposits: saved applications' ciphertexts on their way to the registry, and deletions.

A code saved on one node must open on every other (kiosk/saved.py). Each save queues
a PUT of its blob by lookup id, and a submit or an expiry queues a DELETE; the
forwarder sends them when the registry can be reached (`send_due`, after each
application it sends). The registry keeps bytes it cannot decrypt. A newer action
for the same lookup id replaces an older one not yet sent, so only the last state
travels: a save and then a submit before the network came back send one DELETE.

    queued ─▶ PUT/DELETE /api/v1/saved/<lookup id> ─▶ acknowledged: row deleted
                                                  ├▶ 400/413/422: dropped, logged
                                                  ├▶ 410 to a PUT (sent elsewhere): dropped
                                                  └▶ anything else: tried again later

A node without its own copy asks the registry with `fetch` when someone brings a
code saved elsewhere (docs/registry-api.md, "Saved applications").
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

import sqlite_utils
from flask import current_app

from .db import get_db, transaction
from .outbox.transport import Registry, full_jitter, opener, registry_of

log = logging.getLogger(__name__)

PUT, DELETE = "put", "delete"
REFUSED = {400, 413, 422}  # the registry will never take this deposit
MAX_BLOB = 64 * 1024  # the registry keeps none larger; a longer answer is not a blob
FETCH_TIMEOUT = 5.0  # seconds at most: someone is waiting at the resume page
QUICK_TIMEOUT = 2.0  # seconds, when the node has its own copy to use instead
ROUND = 20  # deposits sent at most per round, between two applications
# A next try never lies further ahead than the backoff cap; one that does was scheduled
# while the clock ran ahead (as in kiosk/outbox), and is due now.
CLOCK_SLACK = timedelta(minutes=1)
LOOKUP = re.compile("[0-9a-f]{64}")


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


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _queue(db: sqlite_utils.Database, lookup: str, action: str, blob: str | None) -> None:
    stamp = _iso(_now())
    db.execute(
        "INSERT OR REPLACE INTO deposits"
        " (lookup_id, action, blob, attempts, queued_at, next_attempt_at)"
        " VALUES (?, ?, ?, 0, ?, ?)",
        [lookup, action, blob, stamp, stamp],
    )


def queue_put(db: sqlite_utils.Database, lookup: str, blob: dict) -> None:
    """Queue this blob for the registry. Call inside the saving transaction."""
    _queue(db, lookup, PUT, json.dumps(blob))


def pending(lookup: str, db: sqlite_utils.Database | None = None) -> bool:
    """Whether this node still has something to send the registry for this lookup id."""
    db = db or get_db()
    return db.execute("SELECT 1 FROM deposits WHERE lookup_id = ?", [lookup]).fetchone() is not None


def queue_delete(db: sqlite_utils.Database, lookup: str) -> None:
    """Queue the registry's copy for deletion. Call inside the deleting transaction."""
    _queue(db, lookup, DELETE, None)


# Sending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Deposit:
    """One queued action as it was read; `queued_at` tells whether a newer one replaced it."""

    lookup_id: str
    action: str
    blob: str | None
    attempts: int
    queued_at: str


class Answer(Enum):
    """What the registry's answer to one deposit means for its row."""

    DONE = "done"  # the registry has it (or, for a delete, has nothing)
    REFUSED = "refused"  # the registry will never take it
    RETRY = "retry"  # passing trouble


def send_due(
    db: sqlite_utils.Database,
    registry: Registry,
    timeout: float,
    backoff: tuple[float, float] = (30.0, 1800.0),
) -> int:
    """Send the due deposits, oldest first; return how many left the queue.

    A row leaves when the registry acknowledged it (a 2xx naming its lookup id, or a
    404 for a DELETE: nothing there is what a delete wants) or refused it for good
    (400, 413, 422: logged by the lookup id's first characters, and dropped). Anything
    else (a network error, a timeout, 5xx, 429, 401/403, a redirect, a captive
    portal's page) is tried again after a full-jitter backoff (`backoff` = base, cap)
    and ends the round, since the next deposit would meet the same trouble. A round
    also ends within `timeout` seconds, so it never holds up the next application
    longer than one send would; whatever is left waits for the next round.
    """
    deadline = time.monotonic() + timeout
    done = 0
    for deposit in _due(db, backoff[1]):
        remaining = deadline - time.monotonic()
        if remaining < timeout / 4:  # too little left for a fair try
            break
        answer, detail = _send(registry, deposit, remaining)
        if answer is Answer.RETRY:
            _retry_later(db, deposit, full_jitter(deposit.attempts + 1, *backoff), detail)
            break
        _finish(db, deposit)
        if answer is Answer.REFUSED:
            log.warning(
                "Deposit %s… refused for good by the registry: %s", deposit.lookup_id[:8], detail
            )
        done += 1
    return done


def _due(db: sqlite_utils.Database, cap: float) -> list[Deposit]:
    moment = _now()
    rows = db.execute(
        "SELECT lookup_id, action, blob, attempts, queued_at FROM deposits"
        " WHERE next_attempt_at <= ? OR next_attempt_at > ?"
        " ORDER BY queued_at, lookup_id LIMIT ?",
        [_iso(moment), _iso(moment + timedelta(seconds=cap) + CLOCK_SLACK), ROUND],
    )
    return [Deposit(*row) for row in rows]


def _send(registry: Registry, deposit: Deposit, timeout: float) -> tuple[Answer, str]:
    """PUT or DELETE one deposit; what its answer means, and the answer in a few words."""
    request = urllib.request.Request(
        f"{registry.url}/api/v1/saved/{deposit.lookup_id}",
        data=deposit.blob.encode() if deposit.action == PUT else None,
        method="PUT" if deposit.action == PUT else "DELETE",
        headers={"Authorization": f"Bearer {registry.token}", "Content-Type": "application/json"},
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read(MAX_BLOB)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(4096)
        error.close()
    except (OSError, http.client.HTTPException, ValueError) as error:  # refused, timeout, DNS
        return Answer.RETRY, f"network: {type(error).__name__}: {error}"
    if 200 <= status < 300 and _names(body, deposit.lookup_id):
        return Answer.DONE, f"HTTP {status}"
    if status == 404 and deposit.action == DELETE:
        return Answer.DONE, "HTTP 404"
    if status in REFUSED:
        return Answer.REFUSED, f"HTTP {status}"
    if status == 410 and deposit.action == PUT and _problem_is(body, "deleted"):
        return Answer.REFUSED, "HTTP 410: the application was sent from another node"
    if 200 <= status < 300:
        return Answer.RETRY, f"HTTP {status} without the registry's answer"
    return Answer.RETRY, f"HTTP {status}"


def _names(body: bytes, lookup: str) -> bool:
    """Whether an answer is the registry's own for this lookup id (not a portal's page)."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(answer, dict) and answer.get("lookup_id") == lookup


def _finish(db: sqlite_utils.Database, deposit: Deposit) -> None:
    """Remove the row, unless a newer action replaced it meanwhile (that one still goes)."""
    with transaction(db):
        db.execute(
            "DELETE FROM deposits WHERE lookup_id = ? AND queued_at = ? AND action = ?"
            " AND blob IS ?",
            [deposit.lookup_id, deposit.queued_at, deposit.action, deposit.blob],
        )


def _retry_later(db: sqlite_utils.Database, deposit: Deposit, delay: float, error: str) -> None:
    with transaction(db):
        db.execute(
            "UPDATE deposits SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
            " WHERE lookup_id = ? AND queued_at = ?",
            [
                _iso(_now() + timedelta(seconds=delay)),
                error[:500],
                deposit.lookup_id,
                deposit.queued_at,
            ],
        )


# Fetching --------------------------------------------------------------------------


class Unreachable(Exception):
    """The registry could not be asked just now (offline, down, or it answered nonsense)."""


class Expired(Exception):
    """The registry held a saved application under this lookup id, but its date has passed."""


class Deleted(Exception):
    """The registry deleted the saved application under this lookup id: it was sent.

    Some node submitted it and told the registry, which keeps that word until the
    blob's date. A copy still kept on this node is older and must not be opened: its
    application would be sent a second time.
    """


def fetch(lookup: str, quick: bool = False) -> dict | None:
    """The blob the registry holds under this lookup id, or None if it holds none.

    For the resume page on a node that has no copy of its own:

    - 200 with a blob: the blob, as a dict (kiosk.saved.resume opens it with the code);
    - 404: None, the registry knows no saved application under this id;
    - 410 `{"error": "expired"}`: raises Expired, there was one but its date has passed
      (the registry has deleted it now), so the page can say "expired", not "unknown";
    - 410 `{"error": "deleted"}`: raises Deleted, it was sent from some node;
    - anything else raises Unreachable: a network error, a timeout, a redirect, 429,
      5xx, 401/403, or an answer that is not the registry's (a captive portal's
      200 or 404 page, a 200 that is no blob).

    The timeout is short (SEND_TIMEOUT, at most 5 s): someone is waiting. `quick` makes it
    at most 2 s, for a node that has a copy of its own to fall back on.
    """
    if not LOOKUP.fullmatch(lookup):
        raise ValueError("not a lookup id")
    registry = registry_of(current_app)
    request = urllib.request.Request(
        f"{registry.url}/api/v1/saved/{lookup}",
        headers={"Authorization": f"Bearer {registry.token}", "Accept": "application/json"},
    )
    timeout = min(current_app.config["SEND_TIMEOUT"], QUICK_TIMEOUT if quick else FETCH_TIMEOUT)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read(MAX_BLOB + 1)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(4096)
        error.close()
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise Unreachable(f"network: {type(error).__name__}") from None
    if status == 410 and _problem_is(body, "deleted"):
        raise Deleted(lookup[:8])
    if status in (404, 410) and _is_problem(body):
        if status == 410:
            raise Expired(lookup[:8])
        return None
    blob = _blob_of(body) if status == 200 else None
    if blob is None:
        raise Unreachable(f"HTTP {status} without a saved application")
    return blob


def _is_problem(body: bytes) -> bool:
    """The registry's own error answer, `{"error": …}`, not some proxy's page."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(answer, dict) and isinstance(answer.get("error"), str)


def _problem_is(body: bytes, reason: str) -> bool:
    """The registry's own error answer with exactly this reason."""
    return _is_problem(body) and json.loads(body)["error"] == reason


def _blob_of(body: bytes) -> dict | None:
    """The answer as a blob of the shape kiosk.saved opens, or None.

    Only the shape: whether it opens is for the code to say (saved.open_blob).
    """
    if len(body) > MAX_BLOB:
        return None
    try:
        blob = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(blob, dict) or not isinstance(blob.get("kdf"), dict):
        return None
    if type(blob.get("format")) is not int:
        return None
    if not all(isinstance(blob.get(key), str) for key in ("nonce", "ciphertext", "expires_at")):
        return None
    try:
        expires_at = datetime.fromisoformat(blob["expires_at"])
    except ValueError:
        return None
    return blob if expires_at.tzinfo is not None else None


# Claims ----------------------------------------------------------------------------


CLAIM = re.compile("[A-Za-z0-9_-]{16,64}")  # what the registry takes as a claim


def claim(lookup: str, token: str) -> bool:
    """Tell the registry this node's resume now holds the code's one live draft.

    True only when the registry answered that it recorded this very claim. Best effort,
    at most QUICK_TIMEOUT: offline, or with nothing deposited yet, it is False and the
    draft simply goes on without a claim (kiosk/claims.py).
    """
    if not LOOKUP.fullmatch(lookup) or not CLAIM.fullmatch(token):
        raise ValueError("not a lookup id or not a claim")
    status, answer = _ask_claim(lookup, "PUT", json.dumps({"claim": token}).encode())
    return (
        status == 200
        and answer is not None
        and answer.get("lookup_id") == lookup
        and answer.get("claim") == token
    )


def current_claim(lookup: str) -> str | None:
    """The newest claim the registry holds for this lookup id, or None.

    None as well for a registry that cannot be reached, answers 404, or answers
    anything that is not a claim: only a claim the registry clearly states may end a
    draft, so an offline or confused network never closes anyone's application.
    Raises Deleted when the registry clearly states the application was sent.
    """
    if not LOOKUP.fullmatch(lookup):
        raise ValueError("not a lookup id")
    status, answer = _ask_claim(lookup, "GET", None)
    if status == 410 and answer is not None and answer.get("error") == "deleted":
        raise Deleted(lookup[:8])
    token = answer.get("claim") if answer is not None else None
    return token if isinstance(token, str) and CLAIM.fullmatch(token) else None


def _ask_claim(lookup: str, method: str, data: bytes | None) -> tuple[int, dict | None]:
    """One claim request: its status (0 for none) and a 200's or 410's JSON object, or None.

    Never raises.
    """
    registry = registry_of(current_app)
    request = urllib.request.Request(
        f"{registry.url}/api/v1/saved/{lookup}/claim",
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {registry.token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    timeout = min(current_app.config["SEND_TIMEOUT"], QUICK_TIMEOUT)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read(4096)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(4096)
        error.close()
    except (OSError, http.client.HTTPException, ValueError):
        return 0, None
    try:
        answer = json.loads(body) if status in (200, 410) else None
    except (ValueError, RecursionError):
        return status, None
    return status, answer if isinstance(answer, dict) else None
