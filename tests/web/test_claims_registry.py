"""The registry's claims: PUT and GET /api/v1/saved/<lookup_id>/claim.

A claim names the resume holding a code's one live draft (kiosk/claims.py). It lives
on the blob's row: kept across a new deposit, gone with the blob's deletion or expiry.
"""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from tests.forwarding import make_registry
from tests.web.test_saved_registry import (
    HOSTILE,
    OPENAPI,
    Node,
    add_node,
    disable,
    error_of,
    expire,
    make_blob,
    saved_rows,
)

TOKEN = "A1b2C3d4E5f6G7h8_-xyzXYZ0123456789"


@pytest.fixture
def registry(tmp_path, registry_backend):
    return make_registry(tmp_path / "registry", **registry_backend)


class Claimer(Node):
    """A node's claim requests, by test client."""

    def put_claim(self, lookup: str, body: bytes | dict, **headers):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {**self.headers, "Content-Type": "application/json", **headers}
        return self.client.put(f"/api/v1/saved/{lookup}/claim", data=data, headers=headers)

    def get_claim(self, lookup: str):
        return self.client.get(f"/api/v1/saved/{lookup}/claim", headers=self.headers)


@pytest.fixture
def node(registry):
    return Claimer(registry, add_node(registry))


@pytest.fixture
def kept(node):
    """The lookup id of a blob the registry keeps."""
    lookup, blob = make_blob()
    assert node.put(lookup, blob).status_code == 201
    return lookup


# Good ----------------------------------------------------------------------------------


def test_a_claim_is_recorded_and_answered_with_its_time(registry, node, kept):
    answer = node.put_claim(kept, {"claim": TOKEN})
    assert answer.status_code == 200
    assert answer.json["lookup_id"] == kept and answer.json["claim"] == TOKEN
    got = node.get_claim(kept)
    assert got.status_code == 200 and got.mimetype == "application/json"
    assert got.json == {"claim": TOKEN, "claimed_at": answer.json["claimed_at"]}
    [row] = saved_rows(registry)
    assert row["claim"] == TOKEN


def test_the_newest_claim_wins_from_any_node(registry, node, kept):
    node.put_claim(kept, {"claim": TOKEN})
    other = Claimer(registry, add_node(registry, "node-b"))
    newer = "z" * 16
    assert other.put_claim(kept, {"claim": newer}).status_code == 200
    assert node.get_claim(kept).json["claim"] == newer


def test_a_new_deposit_keeps_the_claim(node, kept):
    node.put_claim(kept, {"claim": TOKEN})
    _other, newer_blob = make_blob(days=60)
    assert node.put(kept, newer_blob).status_code == 200
    assert node.get_claim(kept).json["claim"] == TOKEN


def test_the_claim_goes_with_the_blobs_deletion_and_says_deleted(registry, node, kept):
    node.put_claim(kept, {"claim": TOKEN})
    assert node.delete(kept).json["status"] == "deleted"
    assert error_of(node.get_claim(kept), 410) == "deleted"  # live drafts of it should end
    assert error_of(node.put_claim(kept, {"claim": TOKEN}), 410) == "deleted"
    assert saved_rows(registry) == []


def test_the_claim_goes_with_the_blobs_expiry(registry, node, kept):
    node.put_claim(kept, {"claim": TOKEN})
    expire(registry, kept)
    assert error_of(node.get_claim(kept), 404) == "not found"
    assert error_of(node.put_claim(kept, {"claim": TOKEN}), 404) == "not found"
    node.put(*make_blob())  # the next deposit sweeps the expired row, claim and all
    assert kept not in [row["lookup_id"] for row in saved_rows(registry)]


def test_no_claim_without_a_blob_and_none_before_the_first(registry, node, kept):
    assert error_of(node.get_claim(kept), 404) == "not found"
    lookup, _blob = make_blob()
    assert error_of(node.put_claim(lookup, {"claim": TOKEN}), 404) == "not found"
    assert [row["lookup_id"] for row in saved_rows(registry)] == [kept]


# Bad and hostile -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b'"' + TOKEN.encode() + b'"', b"\xff\xfe", b'{"claim": NaN}'],
    ids=["empty", "text", "list", "string", "not utf-8", "NaN"],
)
def test_a_body_that_is_not_one_json_object_is_a_400(node, kept, data):
    assert error_of(node.put_claim(kept, data), 400) == "the body must be one JSON object in UTF-8"
    assert error_of(node.get_claim(kept), 404) == "not found"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"claim": TOKEN, "more": 1},
        {"token": TOKEN},
        {"claim": None},
        {"claim": 1234567890123456},
        {"claim": ["a" * 16]},
        {"claim": "a" * 15},
        {"claim": "a" * 65},
        {"claim": "a" * 15 + "="},
        {"claim": "a" * 15 + "\n"},
        {"claim": "ａ" * 16},
        {"claim": HOSTILE * 2},
    ],
    ids=[
        "empty",
        "another key",
        "wrong key",
        "null",
        "number",
        "list",
        "short",
        "long",
        "padding",
        "newline",
        "full-width",
        "hostile",
    ],
)
def test_a_claim_of_the_wrong_shape_is_a_422_not_quoting_it(node, kept, body):
    answer = node.put_claim(kept, body)
    reason = error_of(answer, 422)
    assert reason.startswith(("claim: must be", "the body must have"))
    assert HOSTILE not in answer.get_data(as_text=True) and "aaaa" not in reason
    assert error_of(node.get_claim(kept), 404) == "not found"


def test_a_repeated_key_is_a_400(node, kept):
    data = b'{"claim": "' + b"a" * 16 + b'", "claim": "' + TOKEN.encode() + b'"}'
    assert error_of(node.put_claim(kept, data), 400) == "the body must be one JSON object in UTF-8"


def test_a_body_over_1_kb_is_a_413(node, kept):
    data = json.dumps({"claim": "a" * 2000}).encode()
    assert error_of(node.put_claim(kept, data), 413) == "a claim is at most 1 KB"


@pytest.mark.parametrize("method", ["put", "get"])
def test_a_malformed_lookup_id_is_a_400(node, method):
    for lookup in ("A" * 64, "a" * 63, "g" * 64):
        answer = (
            node.put_claim(lookup, {"claim": TOKEN}) if method == "put" else node.get_claim(lookup)
        )
        assert "64 lowercase" in error_of(answer, 400)


def test_a_claim_look_up_that_finds_nothing_counts_as_a_miss(tmp_path):
    limited = make_registry(tmp_path / "limited")
    limited.config["LIMIT_SAVED_MISSES"] = "2 per 15 minutes"
    node = Claimer(limited, add_node(limited))
    lookup, blob = make_blob()
    node.put(lookup, blob)
    assert node.get_claim(lookup).status_code == 404  # no claim yet: a miss
    assert node.put_claim(make_blob()[0], {"claim": TOKEN}).status_code == 404  # no blob
    refused = node.get_claim(lookup)
    assert "ask again later" in error_of(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert error_of(node.put_claim(lookup, {"claim": TOKEN}), 429)


# Who may ask ---------------------------------------------------------------------------


REQUESTS = {
    "put": lambda node, lookup: node.put_claim(lookup, {"claim": "s" * 16}),
    "get": lambda node, lookup: node.get_claim(lookup),
}


@pytest.mark.parametrize("method", ["put", "get"])
@pytest.mark.parametrize(
    ("authorization", "reason"),
    [(None, "missing bearer token"), ("Bearer not-a-token", "unknown token")],
)
def test_without_a_known_token_it_is_a_401(registry, node, kept, method, authorization, reason):
    node.put_claim(kept, {"claim": TOKEN})
    stranger = Claimer(registry, "")
    stranger.headers = {"Authorization": authorization} if authorization else {}
    answer = REQUESTS[method](stranger, kept)
    assert error_of(answer, 401) == reason
    assert node.get_claim(kept).json["claim"] == TOKEN


@pytest.mark.parametrize("method", ["put", "get"])
def test_a_disabled_node_is_a_403(registry, node, kept, method):
    node.put_claim(kept, {"claim": TOKEN})
    disable(registry, "node-a")
    answer = REQUESTS[method](node, kept)
    assert error_of(answer, 403) == "this node is disabled"
    assert saved_rows(registry)[0]["claim"] == TOKEN


# The published contract ----------------------------------------------------------------


def test_the_openapi_document_describes_the_claim_routes_as_built(node, kept):
    operations = OPENAPI["paths"]["/api/v1/saved/{lookup_id}/claim"]
    statuses = {
        method: sorted(operation["responses"])
        for method, operation in operations.items()
        if method != "parameters"
    }
    assert statuses == {
        "put": ["200", "400", "401", "403", "404", "410", "413", "422", "429"],
        "get": ["200", "400", "401", "403", "404", "410", "429"],
    }
    schemas = OPENAPI["components"]["schemas"]
    body = {"claim": TOKEN}
    Draft202012Validator(schemas["Claim"]).validate(body)
    Draft202012Validator(schemas["ClaimAnswer"]).validate(node.put_claim(kept, body).json)
    Draft202012Validator(schemas["CurrentClaim"]).validate(node.get_claim(kept).json)
    for wrong in ({"claim": "a" * 15}, {"claim": TOKEN, "more": 1}, {}):
        assert not Draft202012Validator(schemas["Claim"]).is_valid(wrong)
