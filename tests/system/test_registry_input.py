"""The registry answers hostile or broken input with JSON errors, never a 500, never the data."""

from __future__ import annotations

import json
import uuid

import pytest

from kiosk import envelope, payload
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, Outcome
from tests.forwarding import (
    make_node,
    make_registry,
    queue_applications,
    serve_in_thread,
    valid_application,
)

NAME, IIN = "Әлия Сәрсенова", "88021530012x"


@pytest.fixture
def pair(tmp_path, registry_backend):
    registry = make_registry(tmp_path / "registry", **registry_backend)
    node = make_node(tmp_path / "node", registry, "http://127.0.0.1:9")
    return node, registry


def _post(pair, data: bytes, submission_id: str):
    node, registry = pair
    return registry.test_client().post(
        "/api/v1/applications",
        data=data,
        headers={
            "Authorization": f"Bearer {node.config['REGISTRY_TOKEN']}",
            "Idempotency-Key": submission_id,
            "Content-Type": "application/json",
        },
    )


def _sealed(node, body: bytes, submission_id: str) -> dict:
    return node.extensions["node"].seal(body, submission_id)


def _application(submission_id: str) -> dict:
    return valid_application(submission_id, NAME)


def _assert_json_error(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    return response.json["error"]


@pytest.mark.parametrize("field", ["body", "signature"])
@pytest.mark.parametrize("value", [123, ["a"], {"a": 1}, None])
def test_a_non_string_body_or_signature_is_a_400(pair, field, value):
    submission_id = str(uuid.uuid4())
    sealed = {**_sealed(pair[0], b"{}", submission_id), field: value}
    _assert_json_error(_post(pair, json.dumps(sealed).encode(), submission_id), 400)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,  # deep enough to exhaust the parser's recursion
        b'{"a":' * 100_000,
        json.dumps({"envelope": 1}).encode("utf-16"),
        b"[1, 2, 3]",  # JSON, but not an object
        b'"an envelope"',
        b"\xff\xfe not json",
    ],
    ids=["deep list", "deep object", "utf-16", "a list", "a string", "bytes"],
)
def test_malformed_bodies_are_a_400(pair, data):
    _assert_json_error(_post(pair, data, str(uuid.uuid4())), 400)


def test_a_utf16_payload_inside_a_valid_envelope_is_a_422(pair):
    submission_id = str(uuid.uuid4())
    body = json.dumps(_application(submission_id), ensure_ascii=False).encode("utf-16")
    sealed = _sealed(pair[0], body, submission_id)
    error = _assert_json_error(_post(pair, envelope.canonical(sealed).encode(), submission_id), 422)
    assert "UTF-8" in error


def test_a_deeply_nested_payload_inside_a_valid_envelope_is_a_422(pair):
    submission_id = str(uuid.uuid4())
    sealed = _sealed(pair[0], b"[" * 100_000, submission_id)
    _assert_json_error(_post(pair, envelope.canonical(sealed).encode(), submission_id), 422)


def test_a_422_names_the_field_and_rule_never_the_value(pair):
    submission_id = str(uuid.uuid4())
    application = _application(submission_id)
    application["applicant"]["iin"] = IIN
    application["contact"]["name"] = 7  # a number where a name belongs
    sealed = _sealed(pair[0], payload.encode(application).encode(), submission_id)
    error = _assert_json_error(_post(pair, envelope.canonical(sealed).encode(), submission_id), 422)
    assert "applicant" in error and "contact/name: breaks type" in error
    assert IIN not in error and NAME not in error and "Әлия" not in error


def test_404_and_405_are_json(pair):
    client = pair[1].test_client()
    assert _assert_json_error(client.get("/nowhere"), 404) == "not found"
    response = client.get("/api/v1/applications")
    assert _assert_json_error(response, 405) == "method not allowed"
    assert "POST" in response.headers["Allow"]


def test_a_registry_with_its_key_refuses_plaintext_and_the_node_gives_it_up(tmp_path):
    registry = make_registry(tmp_path / "registry")
    url, server = serve_in_thread(registry)
    try:
        node = make_node(tmp_path / "node", registry, url, REGISTRY_PUBLIC_KEY="")
        queue_applications(node, 1)
        db = connect(node.config["DATABASE"])
        result = Forwarder(node).step(db)
        assert result.outcome is Outcome.DEAD
        status, reason = db.execute("SELECT status, last_error FROM outbox").fetchone()
        assert (
            status == "dead" and "HTTP 400" in reason and "refused" in reason and "HPKE" in reason
        )
        with registry.app_context():
            from kiosk.registry.database import get_db

            assert get_db().execute("SELECT COUNT(*) FROM applications").fetchone()[0] == 0
        db.close()
    finally:
        server.close()
