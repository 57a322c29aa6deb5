"""The registry's nodes, and the applications it received exactly once (either backend).

Deduplication is a UNIQUE constraint on the submission id and the insert runs
under it (`INSERT … ON CONFLICT DO NOTHING RETURNING`): there is no "check, then
insert" window in which two deliveries of one application could both get in, from
one server process or from several. The id alone, not with the node's: an application
saved under a return code keeps its submission id when resumed on another node, and
two nodes must not both deliver it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask

from . import database, migrations
from .database import Database


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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_node(db: Database, node_id: str, public_key: str) -> str:
    """Register a node (or give it a new token and key); return its new secret token."""
    token = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO nodes (node_id, token_sha256, public_key, created_at, disabled)"
        " VALUES (?, ?, ?, ?, 0) ON CONFLICT (node_id) DO UPDATE SET"
        " token_sha256 = excluded.token_sha256, public_key = excluded.public_key,"
        " created_at = excluded.created_at, disabled = 0",
        [node_id, _token_hash(token), public_key, datetime.now(UTC).isoformat(timespec="seconds")],
    )
    return token


def _node(db: Database, where: str, value: str) -> Node | None:
    row = db.execute(
        f"SELECT node_id, public_key, disabled FROM nodes WHERE {where} = ?", [value]
    ).fetchone()
    return Node(row[0], row[1], bool(row[2])) if row else None


def node_for_token(db: Database, token: str) -> Node | None:
    return _node(db, "token_sha256", _token_hash(token))


def node_by_id(db: Database, node_id: str) -> Node | None:
    return _node(db, "node_id", node_id)


def record(db: Database, node_id: str, submission_id: str, payload: bytes, via: str) -> Receipt:
    """Store the application once; a repeat with the same payload gets the first receipt.

    Raises Conflict when the same submission id comes with a different payload, or
    from another node (the same application, resumed elsewhere and sent twice): the
    first one stays, never overwritten.
    """
    digest = hashlib.sha256(payload).hexdigest()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    inserted = db.execute(
        "INSERT INTO applications"
        " (node_id, submission_id, payload_sha256, payload, received_at, via)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        [node_id, submission_id, digest, payload.decode(), now, via],
    ).fetchall()
    if inserted:
        return Receipt(node_id, submission_id, f"R{inserted[0][0]:08d}", now, digest, created=True)
    row = db.execute(
        "SELECT id, payload_sha256, received_at, node_id FROM applications WHERE submission_id = ?",
        [submission_id],
    ).fetchone()
    if row[3] != node_id:
        raise Conflict(submission_id, "this submission id was received before from another node")
    if row[1] != digest:
        raise Conflict(submission_id, "this submission id was received before with another payload")
    return Receipt(node_id, submission_id, f"R{row[0]:08d}", row[2], digest, created=False)


def count(db: Database) -> int:
    """How many applications the registry holds."""
    return db.execute("SELECT COUNT(*) FROM applications").fetchone()[0]


def init_app(app: Flask) -> None:
    """Bring the schema up to date before the first request; connections per request."""
    with database.connected(app.config, pooled=False) as db:
        migrations.migrate(db)
    database.init_app(app)
