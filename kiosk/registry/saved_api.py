"""PUT, GET and DELETE /api/v1/saved/<lookup_id>: saved applications between nodes.

PUT and GET /api/v1/saved/<lookup_id>/claim: which resume holds the one live draft.

A node deposits the ciphertext of an application saved under a return code; any
other node asks for it by the same lookup id when the applicant comes back there
(docs/registry-api.md, "Saved applications"). The registry checks the blob's
shape, since it will hand the same bytes to other nodes, but it can never open
one: the key comes from the code, which only the applicant has.

A lookup that finds nothing costs the asking node one of its misses
(`REGISTRY_LIMIT_SAVED_MISSES`, counted by Flask-Limiter per node): together with
each node's own limit per address, guessing codes through many kiosks stays slow.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask_limiter import Limiter
from limits import parse_many

from ..config import ConfigError
from ..limits import count_failure, failures_wait
from . import saved_store
from .auth import authenticate
from .database import get_db
from .intake import Refused, json_object, problem, refused_answer

bp = Blueprint("registry_saved", __name__)

LOOKUP = re.compile("[0-9a-f]{64}")
MAX_BYTES = 64 * 1024
MAX_DAYS = 400  # longer than any competition: a date further ahead is a mistake
BLOB_KEYS = {"format", "kdf", "nonce", "ciphertext", "expires_at"}
KDF_KEYS = {"name", "n", "r", "p", "salt"}
KDF_MAX = 2**31  # n, r and p are positive integers below this
EXTENSION = "registry_limiter"
MISS_SCOPE = "saved-misses"
CLAIM = re.compile("[A-Za-z0-9_-]{16,64}")  # a node's random token, URL-safe base64
MAX_CLAIM_BYTES = 1024


def init_app(app: Flask) -> None:
    """The routes, and a limiter of the app's own, so each registry counts alone."""
    setting = app.config["LIMIT_SAVED_MISSES"]
    try:
        usable = all(limit.amount >= 1 for limit in parse_many(setting))
    except ValueError:
        usable = False
    if not usable:
        message = (
            f"REGISTRY_LIMIT_SAVED_MISSES must look like '120 per 15 minutes', not {setting!r}"
        )
        raise ConfigError(message)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.extensions[EXTENSION] = Limiter(
        key_func=_node_id, app=app, strategy="moving-window", key_prefix="registry"
    )
    app.register_blueprint(bp)


def _node_id() -> str:
    node = g.get("node")
    return node.node_id if node else "unauthenticated"


bp.register_error_handler(Refused, refused_answer)


@bp.before_request
def _authenticate() -> None:
    """Every route here: the node's token first, then a lookup id of the right shape."""
    g.node = authenticate(get_db())
    if not LOOKUP.fullmatch((request.view_args or {}).get("lookup_id", "")):
        raise Refused(400, "the lookup id must be 64 lowercase hexadecimal characters")


@bp.put("/api/v1/saved/<lookup_id>")
def put_saved(lookup_id: str):
    """Keep the blob; 201 the first time, 200 when it replaced an earlier one (or itself).

    410 for a code whose application was deleted (sent): a node with an older draft of it
    must not bring it back.
    """
    text, expires_at = _blob_from_request()
    try:
        created = saved_store.put(get_db(), lookup_id, text, expires_at, g.node.node_id)
    except saved_store.Deleted:
        return problem(410, "deleted")
    status = "created" if created else "replaced"
    answer = jsonify(lookup_id=lookup_id, status=status, expires_at=expires_at.isoformat())
    return answer, 201 if created else 200


@bp.get("/api/v1/saved/<lookup_id>")
def get_saved(lookup_id: str):
    """The blob's bytes as deposited; 404 none, 410 expired or deleted, 429 too many misses.

    The miss limit is checked before the lookup, so a node that used it up learns
    nothing more, not even about codes that exist, until the window lets it through.
    """
    wait = _misses_wait()
    if wait:
        answer = jsonify(error="too many look-ups found nothing; ask again later")
        return answer, 429, {"Retry-After": str(wait)}
    try:
        blob = saved_store.get(get_db(), lookup_id)
    except saved_store.Expired:
        _count_miss()
        return problem(410, "expired")
    except saved_store.Deleted:
        _count_miss()
        return problem(410, "deleted")
    if blob is None:
        _count_miss()
        return problem(404, "not found")
    return current_app.response_class(blob, mimetype="application/json")


@bp.delete("/api/v1/saved/<lookup_id>")
def delete_saved(lookup_id: str):
    """Delete it, leaving a tombstone; 200 whether or not it was here, so a node may repeat it."""
    deleted = saved_store.delete(get_db(), lookup_id)
    return jsonify(lookup_id=lookup_id, status="deleted" if deleted else "absent")


# Claims ---------------------------------------------------------------------------


@bp.put("/api/v1/saved/<lookup_id>/claim")
def put_claim(lookup_id: str):
    """Record the newest claim; 404 (a miss) when no unexpired blob is kept under the id.

    A refusal for "nothing kept" must cost a miss as the GET of a blob does, or claims
    would let a node test lookup ids past the miss limit.
    """
    token = _claim_from_request()
    wait = _misses_wait()
    if wait:
        return _too_many(wait)
    db = get_db()
    claimed_at = saved_store.claim(db, lookup_id, token)
    if claimed_at is None and saved_store.gone(db, lookup_id):
        _count_miss()
        return problem(410, "deleted")
    if claimed_at is None:
        _count_miss()
        return problem(404, "not found")
    return jsonify(lookup_id=lookup_id, claim=token, claimed_at=claimed_at)


@bp.get("/api/v1/saved/<lookup_id>/claim")
def get_claim(lookup_id: str):
    """The newest claim and when it was made; 404 (a miss) for no blob, expired, or none.

    410 once the application was deleted (sent): a node's live draft of it should end.
    """
    wait = _misses_wait()
    if wait:
        return _too_many(wait)
    try:
        found = saved_store.current_claim(get_db(), lookup_id)
    except saved_store.Deleted:
        _count_miss()
        return problem(410, "deleted")
    if found is None:
        _count_miss()
        return problem(404, "not found")
    return jsonify(claim=found[0], claimed_at=found[1])


def _too_many(wait: int):
    answer = jsonify(error="too many look-ups found nothing; ask again later")
    return answer, 429, {"Retry-After": str(wait)}


def _claim_from_request() -> str:
    """The token in `{"claim": …}`; Refused (400, 413, 422) otherwise, never quoting it."""
    _text, body = json_object(MAX_CLAIM_BYTES, "a claim is at most 1 KB")
    if body.keys() != {"claim"}:
        raise Refused(422, "the body must have the one key claim")
    token = body["claim"]
    if not isinstance(token, str) or not CLAIM.fullmatch(token):
        raise Refused(422, "claim: must be 16 to 64 characters of A-Z, a-z, 0-9, - and _")
    return token


# The miss limit -------------------------------------------------------------------


def _misses_wait() -> int:
    """Seconds until this node may look up again; 0 while it may."""
    limiter = current_app.extensions[EXTENSION]
    return failures_wait(limiter, current_app.config["LIMIT_SAVED_MISSES"], MISS_SCOPE, _node_id())


def _count_miss() -> None:
    limiter = current_app.extensions[EXTENSION]
    count_failure(limiter, current_app.config["LIMIT_SAVED_MISSES"], MISS_SCOPE, _node_id())


# The blob -------------------------------------------------------------------------


def _blob_from_request() -> tuple[str, datetime]:
    """The body as the text to keep and the date it is kept until; Refused if it is no blob.

    Reasons name keys and rules, never values: they may be logged on the node.
    """
    text, blob = json_object(MAX_BYTES, "a saved application is at most 64 KB")
    problems = blob_problems(blob)
    if problems:
        raise Refused(422, "; ".join(problems))
    return text, datetime.fromisoformat(blob["expires_at"])


def blob_problems(blob: dict) -> list[str]:
    """What is wrong with a saved application's shape (docs/registry-api.md); [] for nothing."""
    problems = _keys_problems("", blob, BLOB_KEYS)
    if "format" in blob and not _whole(blob["format"], 1, 1):
        problems.append("format: must be 1")
    kdf = blob.get("kdf")
    if "kdf" in blob and not isinstance(kdf, dict):
        problems.append("kdf: must be an object")
    elif isinstance(kdf, dict):
        problems += _keys_problems("kdf/", kdf, KDF_KEYS)
        if "name" in kdf and kdf["name"] != "scrypt":
            problems.append("kdf/name: must be scrypt")
        for name in ("n", "r", "p"):
            if name in kdf and not _whole(kdf[name], 1, KDF_MAX - 1):
                problems.append(f"kdf/{name}: must be a positive whole number")
        if "salt" in kdf and not _base64(kdf["salt"]):
            problems.append("kdf/salt: must be base64")
    for name in ("nonce", "ciphertext"):
        if name in blob and not _base64(blob[name]):
            problems.append(f"{name}: must be base64")
    if "expires_at" in blob:
        problems += _date_problems(blob["expires_at"])
    return problems


def _keys_problems(prefix: str, value: dict, expected: set[str]) -> list[str]:
    problems = [f"{prefix}{key}: missing" for key in sorted(expected - value.keys())]
    if value.keys() - expected:
        problems.append(
            f"{prefix or 'the blob'}: has keys other than {', '.join(sorted(expected))}"
        )
    return problems


def _whole(value: object, lowest: int, highest: int) -> bool:
    return type(value) is int and lowest <= value <= highest  # not True, not 1.0


def _base64(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):  # non-ASCII, a wrong character, wrong padding
        return False
    return True


def _date_problems(value: object) -> list[str]:
    """expires_at: an ISO date-time with its offset, ahead of now, at most MAX_DAYS ahead."""
    rule = "expires_at: must be an ISO date-time with an offset"
    if not isinstance(value, str) or len(value) > 40 or not value.isascii():
        return [rule]
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            return [rule]
        now = datetime.now(UTC)
        if moment <= now:
            return ["expires_at: already past"]
        if moment > now + timedelta(days=MAX_DAYS):
            return [f"expires_at: more than {MAX_DAYS} days ahead"]
    except (ValueError, OverflowError):
        return [rule]
    return []
