"""Taking in one envelope: the single path for HTTP deliveries and USB bundles alike.

Verify the sender's signature, decrypt, check the payload against the schema,
then record it under the unique constraint. Every refusal carries the HTTP
status the API answers with, so the node can tell permanent from passing.

A version 2 payload lists supporting documents, which travel on their own
(files_api.py). It is recorded all the same, but gets no receipt until every
file it lists is kept for its submission id: AwaitingFiles names those missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import envelope, payload
from . import files_store, store
from .database import Database


class Refused(Exception):
    """The envelope cannot be accepted; `status` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def problem(status: int, reason: str):
    """Every registry API's error answer: `{"error": reason}` in JSON, with `status`."""
    return jsonify(error=reason), status


def refused_answer(error: Refused):
    """The error handler the registry's blueprints share for Refused."""
    return problem(error.status, error.reason)


class AwaitingFiles(Exception):
    """The application is stored, but these files it lists are not: no receipt yet."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


def registry_key():
    """The registry's X25519 private key, or None when it has none (development)."""
    path = Path(current_app.config["PRIVATE_KEY"])
    return envelope.registry_private_key(path) if path.exists() else None


def accept(db: Database, node: store.Node, sealed: dict, via: str) -> store.Receipt:
    """Accept one envelope from `node`; return the receipt or raise Refused.

    Raises AwaitingFiles for a version 2 application stored without all its files.
    """
    if not isinstance(sealed, dict):
        raise Refused(400, "the body must be a JSON envelope")
    if sealed.get("node_id") != node.node_id:
        raise Refused(403, "the envelope names another node")
    private_key = registry_key()
    if private_key is not None and sealed.get("encryption") == envelope.PLAIN:
        raise Refused(400, 'encryption "none" refused: this registry takes only HPKE envelopes')
    try:
        body = envelope.open_envelope(
            sealed,
            node_key=envelope.node_public_key(node.public_key),
            registry_key=private_key,
        )
    except envelope.EnvelopeError as error:
        raise Refused(400, str(error)) from None
    application = _payload_of(body)
    problems = payload.problems(application)
    if problems:
        raise Refused(422, "; ".join(problems[:5]))
    if application["submission_id"] != sealed["submission_id"]:
        raise Refused(422, "the payload's submission_id differs from the envelope's")
    try:
        received = store.record(db, node.node_id, sealed["submission_id"], body, via)
    except store.Conflict as conflict:
        raise Refused(409, conflict.reason) from None
    if application["schema"] == payload.SCHEMA_2:
        _check_files(db, received, [item["sha256"] for item in application["attachments"]])
    return received


def _check_files(db: Database, received: store.Receipt, hashes: list[str]) -> None:
    """AwaitingFiles unless every listed file is kept; the first receipt after a 202 is new.

    The application was recorded at the 202, so `store.record` calls the later delivery
    a repeat; but the node has had no receipt yet, and this one is its first (201).
    """
    absent = files_store.missing(db, received.node_id, received.submission_id, hashes)
    if absent:
        files_store.await_files(db, received.submission_id)
        raise AwaitingFiles(absent)
    if files_store.stop_awaiting(db, received.submission_id):
        received.created = True


def _payload_of(body: bytes) -> object:
    """The decrypted body as JSON: UTF-8 only (it is stored and hashed so), never a crash."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(422, "the payload is not UTF-8 JSON") from None


def json_object(max_bytes: int, too_large: str) -> tuple[str, dict]:
    """The request body as text and as one JSON object in UTF-8; Refused (413, 400) otherwise.

    The registry's small JSON APIs (saved applications, claims, node reports) read bodies so.
    """
    request.max_content_length = max_bytes
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise Refused(413, too_large) from None
    try:
        text = data.decode("utf-8")
        body = json.loads(text, object_pairs_hook=_no_repeats, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "the body must be one JSON object in UTF-8") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be one JSON object in UTF-8")
    return text, body


def _no_repeats(pairs: list[tuple[str, object]]) -> dict:
    """A key given twice could be read one way here and another way by a node: refused."""
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key is repeated")
    return dict(pairs)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity, which json.loads would take
