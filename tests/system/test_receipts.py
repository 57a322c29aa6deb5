"""Only the registry's signed receipt makes an application delivered.

Whoever answers at the registry's address (a man in the middle on plain HTTP, a
wrong DNS entry, a proxy) can say `201 {"submission_id": …}`. Such an answer must
leave the application queued with its ciphertext, and the real registry must
later receive it exactly once.
"""

from __future__ import annotations

import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk import create_app, envelope, receipt
from kiosk.config import ConfigError
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, Outcome
from tests.forwarding import (
    make_node,
    make_registry,
    queue_applications,
    registry_rows,
    serve_in_thread,
)


def _impostor(answer):
    """A WSGI app that answers every delivery with 201 and `answer(submission_id)`."""

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        sealed = json.loads(environ["wsgi.input"].read(length))
        body = json.dumps(answer(sealed["submission_id"])).encode()
        start_response("201 Created", [("Content-Type", "application/json")])
        return [body]

    return app


@pytest.fixture
def registry(tmp_path):
    app = make_registry(tmp_path / "registry")
    url, server = serve_in_thread(app)
    yield app, url
    server.close()


def _receipt(submission_id: str, payload_sha256: str, node_id: str = "node-test") -> dict:
    return {
        "node_id": node_id,
        "submission_id": submission_id,
        "registry_id": "R00000001",
        "received_at": "2027-03-01T09:15:02+00:00",
        "payload_sha256": payload_sha256,
        "status": "created",
    }


def _cases(registry_app, digest: str) -> dict:
    """What an impostor might answer, each given the submission id."""
    real_key = receipt.private_key(registry_app.config["RECEIPT_KEY"])
    other_key = Ed25519PrivateKey.generate()
    return {
        "unsigned": lambda sid: _receipt(sid, digest),
        "signed by another key": lambda sid: receipt.sign(_receipt(sid, digest), other_key),
        "signature not base64": lambda sid: {**_receipt(sid, digest), "signature": "not base64!"},
        "signature of another receipt": lambda sid: {
            **_receipt(sid, digest),
            "signature": receipt.sign(_receipt(sid, "0" * 64), real_key)["signature"],
        },
        # Signed by the registry's own key, but not for this payload or this node: a
        # receipt replayed from elsewhere.
        "wrong payload hash": lambda sid: receipt.sign(_receipt(sid, "0" * 64), real_key),
        "wrong node": lambda sid: receipt.sign(_receipt(sid, digest, "node-other"), real_key),
    }


CASES = [
    "unsigned",
    "signed by another key",
    "signature not base64",
    "signature of another receipt",
    "wrong payload hash",
    "wrong node",
]


@pytest.mark.parametrize("case", CASES)
def test_a_receipt_not_signed_for_this_application_is_no_delivery(tmp_path, registry, case):
    registry_app, registry_url = registry
    node = make_node(tmp_path / "node", registry_app, registry_url)
    [submission_id] = queue_applications(node, 1)
    db = connect(node.config["DATABASE"])
    digest = db.execute("SELECT payload_sha256 FROM submissions").fetchone()[0]
    fake_url, fake = serve_in_thread(_impostor(_cases(registry_app, digest)[case]))
    try:
        node.config["REGISTRY_URL"] = fake_url
        result = Forwarder(node).step(db)
    finally:
        fake.close()
    assert result.outcome is Outcome.RETRY and "receipt" in result.detail
    status, sealed, error = db.execute(
        "SELECT status, envelope, last_error FROM outbox WHERE submission_id = ?",
        [submission_id],
    ).fetchone()
    assert status == "waiting" and sealed and "receipt" in error
    assert registry_rows(registry_app) == []

    node.config["REGISTRY_URL"] = registry_url  # the real registry, reachable again
    db.execute("UPDATE outbox SET next_attempt_at = created_at")
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED
    assert db.execute("SELECT status, envelope FROM outbox").fetchone() == ("delivered", None)
    assert [row["submission_id"] for row in registry_rows(registry_app)] == [submission_id]
    db.close()


def test_the_real_registrys_receipt_is_signed_and_kept(tmp_path, registry):
    registry_app, registry_url = registry
    node = make_node(tmp_path / "node", registry_app, registry_url)
    [submission_id] = queue_applications(node, 1)
    db = connect(node.config["DATABASE"])
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED
    kept = json.loads(db.execute("SELECT receipt FROM outbox").fetchone()[0])
    digest = db.execute("SELECT payload_sha256 FROM submissions").fetchone()[0]
    receipt.check(
        kept,
        key=node.extensions["node"].receipt_key,
        node_id="node-test",
        submission_id=submission_id,
        payload_sha256=digest,
    )  # the kept receipt is proof of delivery anyone with the public key can check
    db.close()


def test_a_node_without_the_registry_signing_key_delivers_nothing(tmp_path, registry):
    registry_app, registry_url = registry
    node = make_node(tmp_path / "node", registry_app, registry_url, REGISTRY_SIGNING_KEY="")
    queue_applications(node, 1)
    db = connect(node.config["DATABASE"])
    assert Forwarder(node).step(db).outcome is Outcome.RETRY
    status, sealed, error = db.execute("SELECT status, envelope, last_error FROM outbox").fetchone()
    assert status == "waiting" and sealed and "KIOSK_REGISTRY_SIGNING_KEY" in error
    db.close()


def test_a_bad_registry_signing_key_stops_the_start(tmp_path):
    with pytest.raises(ConfigError, match="KIOSK_REGISTRY_SIGNING_KEY"):
        create_app(
            {
                "INSTANCE": tmp_path,
                "DATABASE": str(tmp_path / "k.sqlite3"),
                "REGISTRY_SIGNING_KEY": "not-a-key",
            }
        )


def test_registry_keygen_prints_the_signing_key_and_keeps_it(app, tmp_path):
    runner = app.test_cli_runner()
    env = {"REGISTRY_INSTANCE": str(tmp_path / "registry")}
    out = runner.invoke(args=["registry", "keygen"], env=env).output
    signing = re.search(r"KIOSK_REGISTRY_SIGNING_KEY=(\S+)", out).group(1)
    assert receipt.public_key(signing)
    assert re.search(r"KIOSK_REGISTRY_PUBLIC_KEY=(\S+)", out)
    assert runner.invoke(args=["registry", "keygen"], env=env).output == out  # kept
    private = receipt.private_key(tmp_path / "registry" / "receipt_key")
    assert envelope.public_text(private) == signing
