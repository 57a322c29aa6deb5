"""The registry's own SQLite: registered nodes, and applications received exactly once.

Deduplication is a UNIQUE constraint on the submission id and the insert runs
under it: there is no "check, then insert" window in which two deliveries of one
application could both get in. The id alone, not with the node's: an application
saved under a return code keeps its submission id when resumed on another node, and
two nodes must not both deliver it.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils
from flask import Flask

from ..db import close_db, connect
from . import files_store, saved_store


@dataclass
class Node:
    node_id: str
    public_key: str
    disabled: bool


@dataclass
class Receipt:
    """What the registry answers: `created` is False when it had the application already."""

    node_id: str
    submission_id: str
    registry_id: str
    received_at: str
    payload_sha256: str
    created: bool

    def as_json(self) -> dict:
        return {
            "node_id": self.node_id,
            "submission_id": self.submission_id,
            "registry_id": self.registry_id,
            "received_at": self.received_at,
            "payload_sha256": self.payload_sha256,
            "status": "created" if self.created else "already_received",
        }


class Conflict(Exception):
    """The same submission id arrived before with a different payload, or from another node."""

    def __init__(self, submission_id: str, reason: str) -> None:
        super().__init__(submission_id)
        self.reason = reason


def create_schema(db: sqlite_utils.Database) -> None:
    db["nodes"].create(
        {
            "node_id": str,
            "token_sha256": str,
            "public_key": str,
            "created_at": str,
            "disabled": int,
        },
        pk="node_id",
        not_null={"token_sha256", "public_key", "created_at"},
        defaults={"disabled": 0},
        if_not_exists=True,
    )
    db["nodes"].create_index(["token_sha256"], unique=True, if_not_exists=True)
    db["applications"].create(
        {
            "id": int,
            "node_id": str,
            "submission_id": str,
            "payload_sha256": str,
            "payload": str,
            "received_at": str,
            "via": str,
        },
        pk="id",
        not_null={"node_id", "submission_id", "payload_sha256", "payload", "received_at", "via"},
        if_not_exists=True,
    )
    db["applications"].create_index(["node_id", "submission_id"], unique=True, if_not_exists=True)
    db["applications"].create_index(["submission_id"], unique=True, if_not_exists=True)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_node(db: sqlite_utils.Database, node_id: str, public_key: str) -> str:
    """Register a node (or give it a new token); return its new secret token."""
    token = secrets.token_urlsafe(32)
    db["nodes"].upsert(
        {
            "node_id": node_id,
            "token_sha256": _token_hash(token),
            "public_key": public_key,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "disabled": 0,
        },
        pk="node_id",
    )
    return token


def node_for_token(db: sqlite_utils.Database, token: str) -> Node | None:
    rows = list(db["nodes"].rows_where("token_sha256 = ?", [_token_hash(token)]))
    if not rows:
        return None
    return Node(rows[0]["node_id"], rows[0]["public_key"], bool(rows[0]["disabled"]))


def node_by_id(db: sqlite_utils.Database, node_id: str) -> Node | None:
    rows = list(db["nodes"].rows_where("node_id = ?", [node_id]))
    if not rows:
        return None
    return Node(rows[0]["node_id"], rows[0]["public_key"], bool(rows[0]["disabled"]))


def record(
    db: sqlite_utils.Database, node_id: str, submission_id: str, payload: bytes, via: str
) -> Receipt:
    """Store the application once; a repeat with the same payload gets the first receipt.

    Raises Conflict when the same submission id comes with a different payload, or
    from another node (the same application, resumed elsewhere and sent twice): the
    first one stays, never overwritten.
    """
    digest = hashlib.sha256(payload).hexdigest()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        cursor = db.execute(
            "INSERT INTO applications"
            " (node_id, submission_id, payload_sha256, payload, received_at, via)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [node_id, submission_id, digest, payload.decode(), now, via],
        )
        return Receipt(
            node_id, submission_id, f"R{cursor.lastrowid:08d}", now, digest, created=True
        )
    except sqlite3.IntegrityError:
        pass
    row = db.execute(
        "SELECT id, payload_sha256, received_at, node_id FROM applications WHERE submission_id = ?",
        [submission_id],
    ).fetchone()
    if row[3] != node_id:
        raise Conflict(submission_id, "this submission id was received before from another node")
    if row[1] != digest:
        raise Conflict(submission_id, "this submission id was received before with another payload")
    return Receipt(node_id, submission_id, f"R{row[0]:08d}", row[2], digest, created=False)


def init_app(app: Flask) -> None:
    db = connect(app.config["DATABASE"])
    try:
        create_schema(db)
        saved_store.create_schema(db)
        files_store.create_schema(db)
    finally:
        db.close()
    app.teardown_appcontext(close_db)
