"""GET /healthz: is the node alive, can it reach its database, how much is waiting."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, jsonify

from . import outbox
from .db import get_db
from .security import csrf

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    try:
        queued = outbox.waiting_count(get_db())
    except sqlite3.Error:
        return jsonify(status="error", database=False, queued=None), 503
    return jsonify(status="ok", database=True, queued=queued)
