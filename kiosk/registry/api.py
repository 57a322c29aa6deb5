"""POST /api/v1/applications: the registry API (see docs/registry-api.md).

A version 2 application whose files are not all here yet is stored and answered
`202 {"status": "awaiting_files", "missing": […]}`, without a receipt.

Every answer is JSON, errors included: a node (or an operator's script) reads
`{"error": …}` whatever went wrong, never an HTML page.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import receipt
from . import store
from .auth import authenticate
from .database import BadText, Unavailable, get_db
from .intake import AwaitingFiles, Refused, accept, problem

bp = Blueprint("registry_api", __name__)

MAX_ENVELOPE = 1024 * 1024


def _envelope_from_request() -> object:
    """The request body as JSON, or None: UTF-8 only, and no nesting deep enough to crash.

    At most 1 MB (413), whatever larger body another route of the registry takes.
    """
    request.max_content_length = MAX_ENVELOPE
    try:
        return json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


@bp.post("/api/v1/applications")
def applications():
    db = get_db()
    try:
        node = authenticate(db)
    except Refused as refused:
        return problem(refused.status, refused.reason)
    key = request.headers.get("Idempotency-Key", "")
    sealed = _envelope_from_request()
    if not isinstance(sealed, dict):
        return problem(400, "the body must be a JSON object in UTF-8 (the envelope)")
    if not key or sealed.get("submission_id") != key:
        return problem(400, "Idempotency-Key must be the envelope's submission_id")
    try:
        received = accept(db, node, sealed, via="http")
    except Refused as refused:
        return problem(refused.status, refused.reason)
    except AwaitingFiles as waiting:
        return jsonify(status="awaiting_files", missing=waiting.missing), 202
    signing_key = receipt.private_key(Path(current_app.config["RECEIPT_KEY"]))
    return jsonify(receipt.sign(received.as_json(), signing_key)), 201 if received.created else 200


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", applications=store.count(get_db()))


@bp.app_errorhandler(Unavailable)
def database_unavailable(_error: Unavailable):
    """The database went away or is locked: 503, so a node tries again later, losing nothing."""
    response = jsonify(error="the registry's database is unavailable; try again later")
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


@bp.app_errorhandler(BadText)
def bad_text(error: BadText):
    """A NUL or a lone surrogate in a value: refused alike on either backend."""
    return problem(400, str(error))


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    """404, 405, 413 and the rest as JSON, so no client has to parse an HTML page."""
    reason = "the envelope is larger than 1 MB" if error.code == 413 else error.name.lower()
    response = jsonify(error=reason)
    response.status_code = error.code or 500
    for name, value in error.get_headers():  # keep Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
