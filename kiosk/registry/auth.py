"""Which node is asking: the bearer token every registry request carries.

One rule for every route (applications and saved applications alike): no token
or an unknown one is a 401, a disabled node a 403. The registry keeps only each
token's SHA-256 (kiosk/registry/store.py).
"""

from __future__ import annotations

from flask import request

from . import store
from .database import Database
from .intake import Refused


def authenticate(db: Database) -> store.Node:
    """The node this request's token belongs to; Refused (401 or 403) if none may ask."""
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith("Bearer "):
        raise Refused(401, "missing bearer token")
    node = store.node_for_token(db, authorization.removeprefix("Bearer ").strip())
    if node is None:
        raise Refused(401, "unknown token")
    if node.disabled:
        raise Refused(403, "this node is disabled")
    return node
