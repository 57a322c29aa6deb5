"""The registry's saved-applications API: what it keeps, what it refuses, whom it answers.

Every answer is checked for its status and its JSON; every refusal for not quoting
the value it refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from kiosk import return_codes, saved
from kiosk.config import ConfigError
from kiosk.registry import create_registry_app
from kiosk.registry import store as registry_store
from kiosk.registry.database import get_db as registry_db
from tests.forwarding import make_registry

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs/openapi.json").read_text())
FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}
HOSTILE = "\u202eIIN 880215300125\u0000<script>"


@pytest.fixture
def registry(tmp_path, registry_backend):
    return make_registry(tmp_path / "registry", **registry_backend)


def add_node(registry, node_id: str = "node-a") -> str:
    """Register a node; its token."""
    with registry.app_context():
        return registry_store.add_node(registry_db(), node_id, "not used by the saved API")


def disable(registry, node_id: str) -> None:
    with registry.app_context():
        registry_db().execute("UPDATE nodes SET disabled = 1 WHERE node_id = ?", [node_id])


def saved_rows(registry) -> list[dict]:
    with registry.app_context():
        return list(registry_db().rows("SELECT * FROM saved"))


def make_blob(days: float = 30, name: str = "Әлия") -> tuple[str, dict]:
    """A real blob as a node seals it: (lookup id, blob)."""
    code = return_codes.new_code()
    content = saved.Saved({"full_name": name}, "6a1f3c1e-8c7e-4d0b-9a51-3c2f6f0b7d11", "kk")
    expires_at = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    return return_codes.lookup_id(code), saved.seal(code, content, expires_at, FAST_SCRYPT)


class Node:
    """A node's requests to the registry, by test client."""

    def __init__(self, registry, token: str) -> None:
        self.client = registry.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def put(self, lookup: str, body: bytes | dict, **headers):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {**self.headers, "Content-Type": "application/json", **headers}
        return self.client.put(f"/api/v1/saved/{lookup}", data=data, headers=headers)

    def get(self, lookup: str, **headers):
        return self.client.get(f"/api/v1/saved/{lookup}", headers={**self.headers, **headers})

    def delete(self, lookup: str, **headers):
        return self.client.delete(f"/api/v1/saved/{lookup}", headers={**self.headers, **headers})


@pytest.fixture
def node(registry):
    return Node(registry, add_node(registry))


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    return response.json["error"]


# Good ----------------------------------------------------------------------------------


def test_a_put_is_kept_byte_for_byte_and_given_back(registry, node):
    lookup, blob = make_blob()
    body = json.dumps(blob, indent=1).encode()  # any spacing: the bytes are kept as sent
    answer = node.put(lookup, body)
    assert answer.status_code == 201
    assert answer.json == {
        "lookup_id": lookup,
        "status": "created",
        "expires_at": blob["expires_at"],
    }
    fetched = node.get(lookup)
    assert fetched.status_code == 200 and fetched.mimetype == "application/json"
    assert fetched.data == body
    [row] = saved_rows(registry)
    assert row["lookup_id"] == lookup and row["node_id"] == "node-a"


def test_a_repeated_put_is_a_200_and_a_later_one_replaces(registry, node):
    lookup, blob = make_blob()
    assert node.put(lookup, blob).status_code == 201
    again = node.put(lookup, blob)
    assert again.status_code == 200 and again.json["status"] == "replaced"
    other = Node(registry, add_node(registry, "node-b"))
    _same_lookup, newer = make_blob(days=60)
    assert other.put(lookup, newer).status_code == 200
    assert node.get(lookup).json == newer
    [row] = saved_rows(registry)
    assert row["node_id"] == "node-b"


def test_a_delete_is_idempotent(registry, node):
    lookup, blob = make_blob()
    node.put(lookup, blob)
    first = node.delete(lookup)
    assert first.status_code == 200 and first.json == {"lookup_id": lookup, "status": "deleted"}
    second = node.delete(lookup)
    assert second.status_code == 200 and second.json == first.json
    assert saved_rows(registry) == []


def test_a_deleted_code_says_deleted_and_takes_no_new_deposit(registry, node):
    """Sent from one node: another node's older copy must not open, nor come back."""
    lookup, blob = make_blob()
    node.put(lookup, blob)
    node.delete(lookup)
    assert error_of(node.get(lookup), 410) == "deleted"
    other = Node(registry, add_node(registry, "node-b"))
    assert error_of(other.get(lookup), 410) == "deleted"
    _same, newer = make_blob(days=60)
    assert error_of(other.put(lookup, newer), 410) == "deleted"
    assert saved_rows(registry) == []


def test_the_word_deleted_lasts_until_the_blobs_own_date(registry, node):
    lookup, blob = make_blob()
    node.put(lookup, blob)
    node.delete(lookup)
    with registry.app_context():
        [gone] = list(registry_db().rows("SELECT * FROM saved_gone"))
    assert gone["lookup_id"] == lookup and gone["expires_at"][:19] == blob["expires_at"][:19]
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="microseconds")
    with registry.app_context():
        registry_db().execute("UPDATE saved_gone SET expires_at = ?", [past])
    assert error_of(node.get(lookup), 404) == "not found"  # past it, nobody has a copy
    node.put(*make_blob())  # a deposit sweeps it out
    with registry.app_context():
        assert registry_db().execute("SELECT COUNT(*) FROM saved_gone").fetchone()[0] == 0


def test_deleting_what_was_never_deposited_leaves_no_word(registry, node):
    """Saved and sent on one node while offline: no other node can have a copy."""
    lookup, blob = make_blob()
    answer = node.delete(lookup)
    assert answer.status_code == 200 and answer.json == {"lookup_id": lookup, "status": "absent"}
    assert error_of(node.get(lookup), 404) == "not found"
    assert node.put(lookup, blob).status_code == 201


def test_an_unknown_lookup_is_a_404(node):
    lookup, _blob = make_blob()
    assert error_of(node.get(lookup), 404) == "not found"


def expire(registry, lookup: str) -> None:
    """Age a kept blob past its date, as time would."""
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="microseconds")
    with registry.app_context():
        registry_db().execute("UPDATE saved SET expires_at = ? WHERE lookup_id = ?", [past, lookup])


def test_an_expired_blob_is_a_410_once_and_then_gone(registry, node):
    lookup, blob = make_blob()
    node.put(lookup, blob)
    expire(registry, lookup)
    assert error_of(node.get(lookup), 410) == "expired"
    assert saved_rows(registry) == []
    assert error_of(node.get(lookup), 404) == "not found"


def test_expired_blobs_are_swept_out_at_the_next_deposit(registry, node):
    old, old_blob = make_blob()
    node.put(old, old_blob)
    expire(registry, old)
    new, new_blob = make_blob()
    node.put(new, new_blob)
    assert [row["lookup_id"] for row in saved_rows(registry)] == [new]


# Bad -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookup",
    ["A" * 64, "a" * 63, "a" * 65, "g" * 64, "%20" + "a" * 61, "０" * 64, "a" * 63 + "%0A"],
    ids=["upper case", "short", "long", "not hex", "space", "full-width", "newline"],
)
@pytest.mark.parametrize("method", ["put", "get", "delete"])
def test_a_malformed_lookup_id_is_a_400(node, lookup, method):
    _lookup, blob = make_blob()
    answer = node.put(lookup, blob) if method == "put" else getattr(node, method)(lookup)
    assert "lookup id" in error_of(answer, 400)


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe{}",
        json.dumps({"format": 1}).encode("utf-16"),
        "\ufeff{}".encode(),
        b"[1, 2, 3]",
        b'"a blob"',
        b"null",
        b"",
        b"[" * 60_000,  # deep enough to exhaust the parser, small enough to be read
        b'{"a":' * 12_000,
        b'{"format": NaN}',
        b'{"format": 1, "format": 1}',
    ],
    ids=[
        "text",
        "bytes",
        "utf-16",
        "byte order mark",
        "list",
        "string",
        "null",
        "empty",
        "deep list",
        "deep object",
        "NaN",
        "repeated key",
    ],
)
def test_a_body_that_is_not_one_json_object_is_a_400(registry, node, data):
    lookup, _blob = make_blob()
    assert "JSON object" in error_of(node.put(lookup, data), 400)
    assert saved_rows(registry) == []


def test_a_body_over_64_kb_is_a_413(registry, node):
    lookup, blob = make_blob()
    blob["ciphertext"] = "A" * (64 * 1024)
    assert "64 KB" in error_of(node.put(lookup, blob), 413)
    assert saved_rows(registry) == []


def test_a_body_just_under_64_kb_is_kept(node):
    lookup, blob = make_blob()
    room = 64 * 1024 - len(json.dumps(blob)) + len(blob["ciphertext"])
    blob["ciphertext"] = "A" * (room - room % 4)
    assert node.put(lookup, blob).status_code == 201


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


BREAKAGES = {
    "no format": (lambda b: b.pop("format"), "format: missing"),
    "no kdf": (lambda b: b.pop("kdf"), "kdf: missing"),
    "no nonce": (lambda b: b.pop("nonce"), "nonce: missing"),
    "no ciphertext": (lambda b: b.pop("ciphertext"), "ciphertext: missing"),
    "no expires_at": (lambda b: b.pop("expires_at"), "expires_at: missing"),
    "no salt": (lambda b: b["kdf"].pop("salt"), "kdf/salt: missing"),
    "no n": (lambda b: b["kdf"].pop("n"), "kdf/n: missing"),
    "another key": (lambda b: b.update(code="R7K3-M9QX-TW4P-J5"), "other than"),
    "another kdf key": (lambda b: b["kdf"].update(pepper="x"), "kdf/: has keys other"),
    "format as text": (lambda b: b.update(format="1"), "format: must be 1"),
    "format true": (lambda b: b.update(format=True), "format: must be 1"),
    "format 2": (lambda b: b.update(format=2), "format: must be 1"),
    "kdf as text": (lambda b: b.update(kdf="scrypt"), "kdf: must be an object"),
    "another kdf": (lambda b: b["kdf"].update(name="argon2id"), "kdf/name: must be scrypt"),
    "n as text": (lambda b: b["kdf"].update(n="1024"), "kdf/n: must be a positive"),
    "n fractional": (lambda b: b["kdf"].update(n=1024.0), "kdf/n: must be a positive"),
    "n true": (lambda b: b["kdf"].update(n=True), "kdf/n: must be a positive"),
    "n zero": (lambda b: b["kdf"].update(n=0), "kdf/n: must be a positive"),
    "n huge": (lambda b: b["kdf"].update(n=2**64), "kdf/n: must be a positive"),
    "r negative": (lambda b: b["kdf"].update(r=-8), "kdf/r: must be a positive"),
    "salt a number": (lambda b: b["kdf"].update(salt=123), "kdf/salt: must be base64"),
    "nonce not base64": (lambda b: b.update(nonce="!!!!"), "nonce: must be base64"),
    "nonce hostile": (lambda b: b.update(nonce=HOSTILE), "nonce: must be base64"),
    "ciphertext empty": (lambda b: b.update(ciphertext=""), "ciphertext: must be base64"),
    "ciphertext a list": (lambda b: b.update(ciphertext=["QUFB"]), "ciphertext: must be base64"),
    "ciphertext unpadded": (lambda b: b.update(ciphertext="QUF"), "ciphertext: must be base64"),
    "date a number": (lambda b: b.update(expires_at=20270301), "expires_at: must be an ISO"),
    "date words": (lambda b: b.update(expires_at="next Tuesday"), "expires_at: must be an ISO"),
    "date hostile": (lambda b: b.update(expires_at=HOSTILE), "expires_at: must be an ISO"),
    "date without offset": (
        lambda b: b.update(expires_at=_in(30)[:19]),
        "expires_at: must be an ISO",
    ),
    "date full-width": (
        lambda b: b.update(expires_at="２０２７-03-01T00:00:00+00:00"),
        "expires_at: must be an ISO",
    ),
    "date at the end of time": (
        lambda b: b.update(expires_at="9999-12-31T23:59:59-14:00"),
        "expires_at: more than 400 days ahead",
    ),
    "date too far": (lambda b: b.update(expires_at=_in(401)), "more than 400 days ahead"),
    "date past": (lambda b: b.update(expires_at=_in(-1)), "expires_at: already past"),
}


@pytest.mark.parametrize(("name"), BREAKAGES)
def test_a_blob_of_the_wrong_shape_is_a_422_naming_the_rule_not_the_value(registry, node, name):
    damage, reason = BREAKAGES[name]
    lookup, blob = make_blob()
    damage(blob)
    error = error_of(node.put(lookup, blob), 422)
    assert reason in error
    assert "R7K3" not in error and "880215300125" not in error and "script" not in error
    assert saved_rows(registry) == []


def test_a_blob_up_to_400_days_ahead_is_kept(node):
    lookup, blob = make_blob(days=399)
    assert node.put(lookup, blob).status_code == 201


def test_an_unknown_path_or_method_is_json(node):
    lookup, _blob = make_blob()
    assert error_of(node.client.post(f"/api/v1/saved/{lookup}", headers=node.headers), 405)
    assert error_of(node.client.get("/api/v1/saved/", headers=node.headers), 404)


# Who may ask ---------------------------------------------------------------------------


REQUESTS = {
    "put": lambda node, lookup, blob: node.put(lookup, blob),
    "get": lambda node, lookup, blob: node.get(lookup),
    "delete": lambda node, lookup, blob: node.delete(lookup),
}


@pytest.mark.parametrize("method", REQUESTS)
@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing bearer token"),
        ("Basic bm9kZTpzZWNyZXQ=", "missing bearer token"),
        ("Bearer not-a-token", "unknown token"),
        ("Bearer ", "unknown token"),
    ],
)
def test_without_a_known_token_it_is_a_401(registry, node, method, authorization, reason):
    lookup, blob = make_blob()
    node.put(lookup, blob)
    stranger = Node(registry, "")
    stranger.headers = {"Authorization": authorization} if authorization else {}
    assert error_of(REQUESTS[method](stranger, lookup, blob), 401) == reason
    assert error_of(REQUESTS[method](stranger, "not-a-lookup", blob), 401) == reason
    assert len(saved_rows(registry)) == 1


@pytest.mark.parametrize("method", REQUESTS)
def test_a_disabled_node_is_a_403(registry, node, method):
    lookup, blob = make_blob()
    node.put(lookup, blob)
    disable(registry, "node-a")
    assert error_of(REQUESTS[method](node, lookup, blob), 403) == "this node is disabled"
    assert len(saved_rows(registry)) == 1


# The limit on look-ups that find nothing -----------------------------------------------


@pytest.fixture
def limited(tmp_path):
    app = make_registry(tmp_path / "limited")
    app.config["LIMIT_SAVED_MISSES"] = "3 per 15 minutes"
    return app


def test_misses_are_limited_per_node_with_a_json_429_and_retry_after(limited):
    node = Node(limited, add_node(limited, "node-a"))
    kept, blob = make_blob()
    node.put(kept, blob)
    gone, gone_blob = make_blob()
    node.put(gone, gone_blob)
    expire(limited, gone)
    assert node.get(gone).status_code == 410  # an expired one is a miss too
    for _ in range(2):
        assert node.get(make_blob()[0]).status_code == 404
    refused = node.get(make_blob()[0])
    assert "ask again later" in error_of(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert node.get(kept).status_code == 429  # even a code that exists, until the wait is over
    other = Node(limited, add_node(limited, "node-b"))
    assert other.get(make_blob()[0]).status_code == 404
    assert other.get(kept).status_code == 200
    assert node.put(make_blob()[0], blob).status_code == 201  # deposits are never limited


def test_look_ups_that_find_something_are_not_limited(limited):
    node = Node(limited, add_node(limited))
    lookup, blob = make_blob()
    node.put(lookup, blob)
    for _ in range(10):
        assert node.get(lookup).status_code == 200


@pytest.mark.parametrize("setting", ["lots", "0 per minute", ""])
def test_a_limit_the_registry_cannot_read_stops_its_start(tmp_path, setting):
    with pytest.raises(ConfigError, match="REGISTRY_LIMIT_SAVED_MISSES"):
        create_registry_app(
            {
                "INSTANCE": tmp_path,
                "DATABASE": str(tmp_path / "registry.sqlite3"),
                "LIMIT_SAVED_MISSES": setting,
            }
        )


# The published contract ----------------------------------------------------------------


def test_the_openapi_document_describes_the_saved_api_as_built(node):
    operations = OPENAPI["paths"]["/api/v1/saved/{lookup_id}"]
    statuses = {
        method: sorted(operation["responses"])
        for method, operation in operations.items()
        if method != "parameters"
    }
    assert statuses == {
        "put": ["200", "201", "400", "401", "403", "410", "413", "422"],
        "get": ["200", "400", "401", "403", "404", "410", "429"],
        "delete": ["200", "400", "401", "403"],
    }
    schemas = OPENAPI["components"]["schemas"]
    lookup, blob = make_blob()
    Draft202012Validator(schemas["SavedBlob"]).validate(blob)
    answer = node.put(lookup, blob)
    Draft202012Validator(schemas["SavedAnswer"]).validate(answer.json)
    Draft202012Validator(schemas["SavedBlob"]).validate(node.get(lookup).json)
    Draft202012Validator(schemas["SavedAnswer"]).validate(node.delete(lookup).json)
    Draft202012Validator(schemas["Error"]).validate(node.get(lookup).json)  # 410 deleted
    Draft202012Validator(schemas["Error"]).validate(node.put(lookup, blob).json)


def test_the_openapi_blob_schema_refuses_what_the_registry_refuses():
    validator = Draft202012Validator(OPENAPI["components"]["schemas"]["SavedBlob"])
    for name in ("no kdf", "another key", "format as text", "n as text", "another kdf"):
        _lookup, blob = make_blob()
        BREAKAGES[name][0](blob)
        assert not validator.is_valid(blob), name
