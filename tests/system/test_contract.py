"""What the node sends and the registry answers match the published contract."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from kiosk import payload
from kiosk.db import connect
from kiosk.outbox import claim
from kiosk.outbox.forwarder import deliver, registry_of
from tests.forwarding import (
    make_node,
    make_registry,
    queue_applications,
    serve_in_thread,
    valid_application,
)

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs/openapi.json").read_text())


def _schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(OPENAPI["components"]["schemas"][name])


@pytest.fixture
def pair(tmp_path, registry_backend):
    registry = make_registry(tmp_path / "registry", **registry_backend)
    url, server = serve_in_thread(registry)
    yield make_node(tmp_path / "node", registry, url), registry
    server.close()


def test_envelopes_and_receipts_match_the_openapi_document(pair):
    node, _registry = pair
    queue_applications(node, 1)
    db = connect(node.config["DATABASE"])
    item = claim(db, timedelta(seconds=5), timedelta(0))
    assert not list(_schema("Envelope").iter_errors(json.loads(item.envelope)))
    result = deliver(registry_of(node), item)
    assert not list(_schema("Receipt").iter_errors(result.receipt))
    db.close()


def test_the_payload_schema_refuses_what_the_registry_must_refuse():
    good = valid_application("6a1f3c1e-8c7e-4d0b-9a51-3c2f6f0b7d11")
    assert payload.problems(good) == []
    bad = json.loads(json.dumps(good))
    bad["applicant"]["iin"] = "88021530012x"
    bad["project"]["target_groups"] = []
    bad["extra"] = "not allowed"
    found = " ".join(payload.problems(bad))
    assert "applicant" in found and "target_groups" in found and "extra" in found
