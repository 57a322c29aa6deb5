"""Taking in one envelope: the single path for HTTP deliveries and USB bundles alike.

Verify the sender's signature, decrypt, check the payload against the schema,
then record it under the unique constraint. Every refusal carries the HTTP
status the API answers with, so the node can tell permanent from passing.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils
from flask import current_app

from .. import envelope, payload
from . import store


class Refused(Exception):
    """The envelope cannot be accepted; `status` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _registry_key():
    path = Path(current_app.config["PRIVATE_KEY"])
    return envelope.registry_private_key(path) if path.exists() else None


def accept(db: sqlite_utils.Database, node: store.Node, sealed: dict, via: str) -> store.Receipt:
    """Accept one envelope from `node`; return the receipt or raise Refused."""
    if not isinstance(sealed, dict):
        raise Refused(400, "the body must be a JSON envelope")
    if sealed.get("node_id") != node.node_id:
        raise Refused(403, "the envelope names another node")
    registry_key = _registry_key()
    if registry_key is not None and sealed.get("encryption") == envelope.PLAIN:
        raise Refused(400, 'encryption "none" refused: this registry takes only HPKE envelopes')
    try:
        body = envelope.open_envelope(
            sealed,
            node_key=envelope.node_public_key(node.public_key),
            registry_key=registry_key,
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
        return store.record(db, node.node_id, sealed["submission_id"], body, via)
    except store.Conflict as conflict:
        raise Refused(409, conflict.reason) from None


def _payload_of(body: bytes) -> object:
    """The decrypted body as JSON: UTF-8 only (it is stored and hashed so), never a crash."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(422, "the payload is not UTF-8 JSON") from None
