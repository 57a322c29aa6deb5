"""POST /api/v1/applications: the registry API (see docs/registry-api.md)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..db import get_db
from . import store
from .intake import Refused, accept

bp = Blueprint("registry_api", __name__)


def _problem(status: int, reason: str):
    return jsonify(error=reason), status


@bp.post("/api/v1/applications")
def applications():
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("Bearer "):
        return _problem(401, "missing bearer token")
    db = get_db()
    node = store.node_for_token(db, authorization.removeprefix("Bearer ").strip())
    if node is None:
        return _problem(401, "unknown token")
    if node.disabled:
        return _problem(403, "this node is disabled")
    key = request.headers.get("Idempotency-Key", "")
    sealed = request.get_json(silent=True)
    if not key or not isinstance(sealed, dict) or sealed.get("submission_id") != key:
        return _problem(400, "Idempotency-Key must be the envelope's submission_id")
    try:
        receipt = accept(db, node, sealed, via="http")
    except Refused as refused:
        return _problem(refused.status, refused.reason)
    return jsonify(receipt.as_json()), 201 if receipt.created else 200


@bp.get("/healthz")
def healthz():
    count = get_db()["applications"].count
    return jsonify(status="ok", applications=count)


@bp.errorhandler(413)
def too_large(_error):
    return _problem(413, "the envelope is larger than 1 MB")
