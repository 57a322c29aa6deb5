"""The registry's supporting documents: tus uploads, the files kept, and receipts that wait.

docs/registry-api.md, "Supporting documents". Every refusal is checked for its status,
its JSON and, where it matters, that nothing was kept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator

from kiosk import bundle, envelope, payload, receipt
from kiosk.registry import create_registry_app, files_store
from kiosk.registry import store as registry_store
from kiosk.registry.cli import registry_cli
from kiosk.registry.database import get_db as registry_db
from tests.forwarding import make_registry, registry_env, registry_signing_key, valid_application

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs/openapi.json").read_text())
SID = "6a1f3c1e-8c7e-4d0b-9a51-3c2f6f0b7d11"
OTHER_SID = "0b5e1d7a-3f2c-4e8b-a1d9-7c6f5e4d3b2a"
MAX_SIZE = 10 * 1024 * 1024 + 1024
MAX_CHUNK = 4 * 1024 * 1024
LOCATION = re.compile("/api/v1/files/[A-Za-z0-9_-]{32}")


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def metadata(**values: str) -> str:
    return ",".join(f"{key} {b64(value)}" for key, value in values.items())


def meta_of(sha256: str, submission_id: str = SID, encryption: str = envelope.HPKE) -> dict:
    return {"submission_id": submission_id, "sha256": sha256, "encryption": encryption}


def _sent(headers: dict) -> dict[str, str]:
    return {name: str(value) for name, value in headers.items() if value is not None}


class Node:
    """One node's tus requests to the registry, by test client."""

    def __init__(self, registry, node_id: str, token: str, signing_key=None) -> None:
        self.registry = registry
        self.node_id = node_id
        self.signing_key = signing_key
        self.client = registry.test_client()
        self.headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}

    def options(self, **headers):
        return self.client.options("/api/v1/files", headers={**self.headers, **headers})

    def create(self, length: int | str | None, meta: str | None, **headers):
        """POST a creation; a header given as None is not sent."""
        sent = {**self.headers, "Upload-Length": length, "Upload-Metadata": meta, **headers}
        return self.client.post("/api/v1/files", headers=_sent(sent))

    def head(self, location: str, **headers):
        return self.client.head(location, headers={**self.headers, **headers})

    def patch(self, location: str, offset, data: bytes, checksum: str | None = None, **headers):
        sent = {
            **self.headers,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": offset,
            "Upload-Checksum": checksum,
            **headers,
        }
        return self.client.patch(location, data=data, headers=_sent(sent))

    def seal(self, data: bytes, submission_id: str = SID, sha256: str | None = None):
        """(metadata, sealed bytes) for a file as this node would upload it."""
        digest = sha256 or hashlib.sha256(data).hexdigest()
        public = envelope.registry_private_key(self.registry.config["PRIVATE_KEY"]).public_key()
        encryption, sealed = envelope.seal_file(
            data,
            node_id=self.node_id,
            submission_id=submission_id,
            sha256=digest,
            registry_key=public,
        )
        return meta_of(digest, submission_id, encryption), sealed

    def start(self, meta: dict, length: int) -> str:
        answer = self.create(length, metadata(**meta))
        assert answer.status_code == 201, answer.data
        return answer.headers["Location"]

    def upload(self, data: bytes, submission_id: str = SID, chunk: int = 1000):
        """Upload the sealed `data` in chunks; the last answer."""
        meta, sealed = self.seal(data, submission_id)
        location = self.start(meta, len(sealed))
        for offset in range(0, len(sealed), chunk):
            answer = self.patch(location, offset, sealed[offset : offset + chunk])
        return answer


def add_node(registry, node_id: str = "node-a") -> Node:
    key = Ed25519PrivateKey.generate()
    with registry.app_context():
        token = registry_store.add_node(registry_db(), node_id, envelope.public_text(key))
    return Node(registry, node_id, token, key)


@pytest.fixture
def registry(tmp_path, registry_backend):
    return make_registry(tmp_path / "registry", **registry_backend)


@pytest.fixture
def keyless(tmp_path):
    """A registry without its private key (development): files travel as they are."""
    folder = tmp_path / "keyless"
    return create_registry_app(
        {
            "INSTANCE": folder,
            "DATABASE": str(folder / "registry.sqlite3"),
            "PRIVATE_KEY": folder / "registry_key",
            "RECEIPT_KEY": folder / "receipt_key",
        }
    )


@pytest.fixture
def node(registry):
    return add_node(registry)


def rows(registry, table: str) -> list[dict]:
    with registry.app_context():
        return list(registry_db().rows(f"SELECT * FROM {table}"))


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    return response.json["error"]


def offset_of(node: Node, location: str) -> int:
    answer = node.head(location)
    assert answer.status_code == 200, answer.data
    return int(answer.headers["Upload-Offset"])


FILE = os.urandom(5000)
FILE_SHA = hashlib.sha256(FILE).hexdigest()


# What the server speaks ----------------------------------------------------------------


def test_options_names_the_version_extensions_size_and_checksums(node):
    node.headers.pop("Tus-Resumable")  # OPTIONS needs not name the version
    answer = node.options()
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert answer.headers["Tus-Extension"] == "creation,checksum"
    assert answer.headers["Tus-Max-Size"] == str(MAX_SIZE) == "10486784"
    assert answer.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert answer.headers["Tus-Resumable"] == "1.0.0"


# Creation ------------------------------------------------------------------------------


def test_a_creation_makes_an_empty_upload_of_this_node_at_a_random_location(registry, node):
    meta, sealed = node.seal(FILE)
    answer = node.create(len(sealed), metadata(**meta))
    assert answer.status_code == 201
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    location = answer.headers["Location"]
    assert LOCATION.fullmatch(location)
    again = node.create(len(sealed), metadata(**meta)).headers["Location"]
    assert again != location
    [first, _second] = rows(registry, "file_uploads")
    assert first["file_id"] == location.rsplit("/", 1)[1]
    assert (first["node_id"], first["submission_id"], first["sha256"]) == ("node-a", SID, FILE_SHA)
    assert (first["encryption"], first["upload_length"]) == (envelope.HPKE, len(sealed))
    head = node.head(location)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(sealed))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"


def test_the_largest_upload_is_tus_max_size(node):
    assert node.create(MAX_SIZE, metadata(**meta_of(FILE_SHA))).status_code == 201


@pytest.mark.parametrize(
    ("length", "status"),
    [
        (None, 400),
        ("", 400),
        ("-1", 400),
        ("1e3", 400),
        ("1.0", 400),
        ("0x10", 400),
        ("١٢٣", 400),
        ("0", 400),
        (str(MAX_SIZE + 1), 413),
        ("9" * 30, 413),
        ("9" * 5000, 413),
    ],
    ids=[
        "missing",
        "empty",
        "negative",
        "exponent",
        "fraction",
        "hex",
        "arabic digits",
        "zero",
        "one over",
        "huge",
        "enormous",
    ],
)
def test_an_upload_length_that_is_not_a_size_it_takes_is_refused(registry, node, length, status):
    answer = node.create(length, metadata(**meta_of(FILE_SHA)))
    assert "Upload-Length" in error_of(answer, status)
    assert rows(registry, "file_uploads") == []


HOSTILE = "\u202eIIN 880215300125<script>"
GOOD_META = meta_of(FILE_SHA)
BAD_METADATA = {
    "missing": None,
    "empty": "",
    "no submission_id": metadata(sha256=FILE_SHA, encryption=envelope.HPKE),
    "no sha256": metadata(submission_id=SID, encryption=envelope.HPKE),
    "no encryption": metadata(submission_id=SID, sha256=FILE_SHA),
    "extra key": metadata(**GOOD_META, name="passport.pdf"),
    "repeated key": metadata(**GOOD_META) + "," + metadata(sha256=FILE_SHA),
    "bad base64": metadata(**GOOD_META).replace(b64(SID), "!!not-base64!!"),
    "unpadded base64": metadata(**GOOD_META).replace(b64(SID), b64(SID).rstrip("=")[:-1]),
    "not utf-8": metadata(**GOOD_META).replace(b64(SID), b64(b"\xff\xfe\xfd")),
    "no value": f"submission_id,sha256 {b64(FILE_SHA)},encryption {b64(envelope.HPKE)}",
    "two spaces": metadata(**GOOD_META).replace(" ", "  ", 1),
    "uuid upper case": metadata(**{**GOOD_META, "submission_id": SID.upper()}),
    "uuid version 1": metadata(
        **{**GOOD_META, "submission_id": "6a1f3c1e-8c7e-1d0b-9a51-3c2f6f0b7d11"}
    ),
    "uuid hostile": metadata(**{**GOOD_META, "submission_id": HOSTILE}),
    "sha256 upper case": metadata(**{**GOOD_META, "sha256": FILE_SHA.upper()}),
    "sha256 short": metadata(**{**GOOD_META, "sha256": FILE_SHA[:63]}),
    "sha256 hostile": metadata(**{**GOOD_META, "sha256": HOSTILE}),
    "unknown encryption": metadata(**{**GOOD_META, "encryption": "AES"}),
    "none with a registry key": metadata(**{**GOOD_META, "encryption": "none"}),
}


@pytest.mark.parametrize("name", BAD_METADATA)
def test_metadata_that_breaks_a_rule_is_a_400_naming_it_never_the_value(registry, node, name):
    answer = node.create(len(FILE) + 48, BAD_METADATA[name])
    error = error_of(answer, 400)
    assert "Upload-Metadata" in error or "encryption" in error
    assert "880215300125" not in error and "script" not in error and FILE_SHA[:20] not in error
    assert rows(registry, "file_uploads") == []


def test_none_is_refused_by_a_registry_with_its_key_and_named_so(node):
    answer = node.create(100, metadata(**meta_of(FILE_SHA, encryption="none")))
    assert '"none" refused' in error_of(answer, 400)


def test_tus_metadata_may_have_spaces_after_its_commas(node):
    assert node.create(100, metadata(**GOOD_META).replace(",", ", ")).status_code == 201


def test_a_registry_without_a_key_takes_a_file_as_it_is(keyless):
    node = add_node(keyless)
    meta = meta_of(FILE_SHA, encryption=envelope.PLAIN)
    location = node.start(meta, len(FILE))
    assert node.patch(location, 0, FILE).status_code == 204
    [kept] = rows(keyless, "files")
    assert kept["data"] == FILE and kept["sha256"] == FILE_SHA


# Who may ask ---------------------------------------------------------------------------


def _requests(node: Node, location: str):
    return {
        "options": lambda: node.options(),
        "post": lambda: node.create(100, metadata(**GOOD_META)),
        "head": lambda: node.head(location),
        "patch": lambda: node.patch(location, 0, b"x" * 10),
    }


@pytest.mark.parametrize("method", ["options", "post", "head", "patch"])
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
    location = node.start(GOOD_META, 100)
    stranger = Node(registry, "node-a", "")
    stranger.headers = {"Tus-Resumable": "1.0.0"}
    if authorization:
        stranger.headers["Authorization"] = authorization
    answer = _requests(stranger, location)[method]()
    assert answer.status_code == 401
    if method != "head":  # a HEAD answer has no body
        assert error_of(answer, 401) == reason
    assert len(rows(registry, "file_uploads")) == 1 and rows(registry, "file_chunks") == []


@pytest.mark.parametrize("method", ["options", "post", "head", "patch"])
def test_a_disabled_node_is_a_403(registry, node, method):
    location = node.start(GOOD_META, 100)
    with registry.app_context():
        registry_db().execute("UPDATE nodes SET disabled = 1")
    answer = _requests(node, location)[method]()
    assert answer.status_code == 403
    if method != "head":
        assert error_of(answer, 403) == "this node is disabled"
    assert len(rows(registry, "file_uploads")) == 1 and rows(registry, "file_chunks") == []


def test_another_nodes_upload_does_not_exist_for_it(registry, node):
    location = node.start(GOOD_META, 100)
    other = add_node(registry, "node-b")
    assert other.head(location).status_code == 404
    assert error_of(other.patch(location, 0, b"x" * 10), 404) == "not found"
    assert rows(registry, "file_chunks") == []
    assert offset_of(node, location) == 0  # still there for its own node
    assert error_of(node.patch("/api/v1/files/" + "A" * 32, 0, b"x"), 404) == "not found"


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "1.0.0 "])
@pytest.mark.parametrize("method", ["post", "head", "patch"])
def test_any_request_but_options_must_speak_tus_1_0_0(registry, node, method, version):
    location = node.start(GOOD_META, 100)
    node.headers.pop("Tus-Resumable")
    if version is not None:
        node.headers["Tus-Resumable"] = version
    answer = _requests(node, location)[method]()
    assert answer.status_code == 412
    assert answer.headers["Tus-Version"] == "1.0.0"
    if method != "head":
        assert "Tus-Resumable" in error_of(answer, 412)
    assert len(rows(registry, "file_uploads")) == 1 and rows(registry, "file_chunks") == []


# Chunks --------------------------------------------------------------------------------


@pytest.fixture
def started(node):
    """A started upload of FILE: (location, sealed bytes)."""
    meta, sealed = node.seal(FILE)
    return node.start(meta, len(sealed)), sealed


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "text/plain", "application/json", ""]
)
def test_a_chunk_of_another_content_type_is_a_415(registry, node, started, content_type):
    location, sealed = started
    answer = node.patch(location, 0, sealed[:100], **{"Content-Type": content_type})
    assert "application/offset+octet-stream" in error_of(answer, 415)
    assert rows(registry, "file_chunks") == [] and offset_of(node, location) == 0


def test_a_chunk_at_another_offset_is_a_409(registry, node, started):
    location, sealed = started
    assert "offset" in error_of(node.patch(location, 100, sealed[100:200]), 409)
    assert node.patch(location, 0, sealed[:100]).status_code == 204
    assert "offset" in error_of(node.patch(location, 0, sealed[:100]), 409)  # a resend
    assert "offset" in error_of(node.patch(location, 99, sealed[99:200]), 409)
    assert len(rows(registry, "file_chunks")) == 1 and offset_of(node, location) == 100


def test_of_two_chunks_sent_at_once_at_one_offset_only_one_is_kept(registry, node, started):
    """Both passed the view's check; the store checks again inside its write transaction."""
    location, sealed = started
    file_id = location.rsplit("/", 1)[1]
    assert node.patch(location, 0, sealed[:1000]).status_code == 204  # the first of the two
    with registry.app_context(), pytest.raises(files_store.OffsetMismatch):
        files_store.append(registry_db(), "node-a", file_id, 0, sealed[:1000], lambda *_: b"")
    assert len(rows(registry, "file_chunks")) == 1 and offset_of(node, location) == 1000


@pytest.mark.parametrize("offset", [None, "", "-1", "1e2", "ten", " 0"])
def test_an_upload_offset_that_is_no_number_is_a_400(registry, node, started, offset):
    location, sealed = started
    assert "Upload-Offset" in error_of(node.patch(location, offset, sealed[:100]), 400)
    assert rows(registry, "file_chunks") == []


def test_a_chunk_past_upload_length_is_a_413_and_not_kept(registry, node, started):
    location, sealed = started
    assert "Upload-Length" in error_of(node.patch(location, 0, sealed + b"x"), 413)
    assert node.patch(location, 0, sealed[:1000]).status_code == 204
    assert "Upload-Length" in error_of(node.patch(location, 1000, sealed[1000:] + b"x"), 413)
    assert len(rows(registry, "file_chunks")) == 1 and offset_of(node, location) == 1000
    assert rows(registry, "files") == []


def test_a_chunk_over_4_mb_is_a_413_even_in_a_large_upload(registry, node):
    location = node.start(GOOD_META, MAX_SIZE)
    assert "4 MB" in error_of(node.patch(location, 0, b"x" * (MAX_CHUNK + 1)), 413)
    assert rows(registry, "file_chunks") == [] and offset_of(node, location) == 0
    assert node.patch(location, 0, b"x" * MAX_CHUNK).status_code == 204
    assert offset_of(node, location) == MAX_CHUNK


def _checksum(name: str, data: bytes) -> str:
    return f"{name} {b64(hashlib.new(name, data).digest())}"


@pytest.mark.parametrize("name", ["sha1", "sha256"])
def test_a_chunk_whose_checksum_differs_is_a_460_and_not_kept(registry, node, started, name):
    location, sealed = started
    wrong = _checksum(name, sealed[:100] + b"!")
    answer = node.patch(location, 0, sealed[:100], checksum=wrong)
    assert answer.status_code == 460 and answer.status == "460 Checksum Mismatch"
    assert "not kept" in error_of(answer, 460)
    assert rows(registry, "file_chunks") == [] and offset_of(node, location) == 0
    right = node.patch(location, 0, sealed[:100], checksum=_checksum(name, sealed[:100]))
    assert right.status_code == 204 and right.headers["Upload-Offset"] == "100"
    [chunk] = rows(registry, "file_chunks")
    assert chunk["data"] == sealed[:100]


@pytest.mark.parametrize(
    "header",
    [
        "md5 " + b64(hashlib.md5(b"x").digest()),
        "SHA1 " + b64(hashlib.sha1(b"x").digest()),
        "crc32 AAAAAA==",
        "sha1",
        "sha1 " + b64(hashlib.sha256(b"x").digest()),  # a digest of another length
        "sha256 not-base64!",
        "sha256  " + b64(hashlib.sha256(b"x").digest()),
    ],
    ids=["md5", "upper case", "crc32", "no digest", "wrong length", "not base64", "two spaces"],
)
def test_a_checksum_it_cannot_read_is_a_400(registry, node, started, header):
    location, sealed = started
    assert "Upload-Checksum" in error_of(node.patch(location, 0, sealed[:100], header), 400)
    assert rows(registry, "file_chunks") == []


def test_each_chunk_is_kept_and_head_says_how_far_it_got(registry, node, started):
    location, sealed = started
    for offset in range(0, 4000, 1000):
        answer = node.patch(location, offset, sealed[offset : offset + 1000])
        assert answer.status_code == 204 and answer.data == b""
        assert answer.headers["Upload-Offset"] == str(offset + 1000)
        assert offset_of(node, location) == offset + 1000
        chunks = rows(registry, "file_chunks")
        assert b"".join(chunk["data"] for chunk in chunks) == sealed[: offset + 1000]
    assert rows(registry, "files") == []


# The last chunk ------------------------------------------------------------------------


def test_the_last_chunk_opens_the_file_and_keeps_it_by_hash(registry, node, started):
    location, sealed = started
    assert sealed != FILE  # sealed to the registry's key
    node.patch(location, 0, sealed[:3000])
    last = node.patch(location, 3000, sealed[3000:], checksum=_checksum("sha256", sealed[3000:]))
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(sealed))
    [kept] = rows(registry, "files")
    assert kept["data"] == FILE
    assert (kept["submission_id"], kept["sha256"]) == (SID, FILE_SHA)
    assert (kept["node_id"], kept["size"]) == ("node-a", len(FILE))
    assert datetime.fromisoformat(kept["received_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert rows(registry, "file_chunks") == []
    # A node that lost that answer asks, and learns it arrived.
    head = node.head(location)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(sealed))


def test_an_empty_chunk_changes_nothing_even_after_the_last(registry, node, started):
    """tuspy sends one when asked to go on past where it was told to stop."""
    location, sealed = started
    node.patch(location, 0, sealed[:1000])
    empty = node.patch(location, 1000, b"")
    assert empty.status_code == 204 and empty.headers["Upload-Offset"] == "1000"
    assert node.patch(location, 1000, sealed[1000:]).status_code == 204
    again = node.patch(location, len(sealed), b"")
    assert again.status_code == 204 and again.headers["Upload-Offset"] == str(len(sealed))
    assert offset_of(node, location) == len(sealed)
    assert [row["data"] for row in rows(registry, "files")] == [FILE]


def test_a_file_in_one_chunk_is_kept(registry, node, started):
    location, sealed = started
    assert node.patch(location, 0, sealed).status_code == 204
    assert [row["data"] for row in rows(registry, "files")] == [FILE]


def _assert_gone(registry, node, location):
    assert node.head(location).status_code == 404
    assert rows(registry, "file_uploads") == rows(registry, "file_chunks") == []
    assert rows(registry, "files") == []


def test_a_file_whose_hash_differs_is_deleted_with_a_422(registry, node):
    other = hashlib.sha256(b"another file").hexdigest()
    meta, sealed = node.seal(FILE, sha256=other)  # opens, but is not the file it names
    location = node.start(meta, len(sealed))
    node.patch(location, 0, sealed[:1000])
    error = error_of(node.patch(location, 1000, sealed[1000:]), 422)
    assert "SHA-256" in error and other[:16] not in error
    _assert_gone(registry, node, location)


def test_a_file_sealed_for_another_application_is_deleted_with_a_422(registry, node):
    meta, sealed = node.seal(FILE, submission_id=OTHER_SID)
    location = node.start({**meta, "submission_id": SID}, len(sealed))
    node.patch(location, 0, sealed[:1000])
    assert "does not open" in error_of(node.patch(location, 1000, sealed[1000:]), 422)
    _assert_gone(registry, node, location)


def test_a_file_sealed_by_another_node_does_not_open(registry, node):
    stranger = add_node(registry, "node-b")
    meta, sealed = stranger.seal(FILE)
    location = node.start(meta, len(sealed))
    assert "does not open" in error_of(node.patch(location, 0, sealed), 422)
    _assert_gone(registry, node, location)


def test_an_encrypted_file_at_a_registry_without_its_key_is_a_422(keyless, tmp_path):
    """Encrypted, but for a key this registry has not: it cannot open, and keeps nothing."""
    node = add_node(keyless)
    public = envelope.registry_private_key(
        make_registry(tmp_path / "elsewhere").config["PRIVATE_KEY"]
    ).public_key()
    encryption, sealed = envelope.seal_file(
        FILE, node_id="node-a", submission_id=SID, sha256=FILE_SHA, registry_key=public
    )
    location = node.start(meta_of(FILE_SHA, encryption=encryption), len(sealed))
    assert "does not open" in error_of(node.patch(location, 0, sealed), 422)
    _assert_gone(keyless, node, location)


def test_a_file_uploaded_twice_is_kept_once(registry, node):
    assert node.upload(FILE).status_code == 204
    assert node.upload(FILE).status_code == 204
    assert [row["sha256"] for row in rows(registry, "files")] == [FILE_SHA]
    assert rows(registry, "file_chunks") == []
    assert node.upload(FILE, submission_id=OTHER_SID).status_code == 204  # another application
    assert len(rows(registry, "files")) == 2


# Unfinished uploads --------------------------------------------------------------------


def _age(registry, location: str, days: float) -> None:
    moment = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    with registry.app_context():
        registry_db().execute(
            "UPDATE file_uploads SET updated_at = ? WHERE file_id = ?",
            [moment, location.rsplit("/", 1)[1]],
        )


def test_unfinished_uploads_are_swept_7_days_after_their_last_chunk(registry, node):
    meta, sealed = node.seal(FILE)
    stale, recent = node.start(meta, len(sealed)), node.start(meta, len(sealed))
    node.patch(stale, 0, sealed[:1000])
    node.patch(recent, 0, sealed[:1000])
    _age(registry, stale, 7.01)
    _age(registry, recent, 6.9)
    assert offset_of(node, stale) == 1000  # nothing sweeps until a creation
    node.start(meta, len(sealed))
    assert node.head(stale).status_code == 404
    assert offset_of(node, recent) == 1000
    assert len(rows(registry, "file_uploads")) == 2
    assert [chunk["file_id"] for chunk in rows(registry, "file_chunks")] == [recent.split("/")[-1]]


def test_the_sweep_goes_by_the_last_chunk_not_the_creation(registry, node, started):
    location, sealed = started
    month_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat(timespec="microseconds")
    with registry.app_context():
        registry_db().execute(
            "UPDATE file_uploads SET created_at = ?, updated_at = ?", [month_ago] * 2
        )
    node.patch(location, 0, sealed[:1000])  # the last chunk is now
    node.start(GOOD_META, 100)
    assert offset_of(node, location) == 1000
    assert len(rows(registry, "file_chunks")) == 1


# The receipt waits for the files -------------------------------------------------------


SECOND = os.urandom(3000)
SECOND_SHA = hashlib.sha256(SECOND).hexdigest()


def application_2(submission_id: str = SID) -> dict:
    application = valid_application(submission_id)
    application["schema"] = payload.SCHEMA_2
    application["attachments"] = [
        {
            "name": "устав.pdf",
            "media_type": "application/pdf",
            "size": len(FILE),
            "sha256": FILE_SHA,
        },
        {
            "name": "photo.jpg",
            "media_type": "image/jpeg",
            "size": len(SECOND),
            "sha256": SECOND_SHA,
        },
    ]
    assert payload.problems(application) == []
    return application


def sealed_envelope(node: Node, application: dict) -> dict:
    public = envelope.registry_private_key(node.registry.config["PRIVATE_KEY"]).public_key()
    return envelope.seal(
        payload.encode(application).encode(),
        node_id=node.node_id,
        submission_id=application["submission_id"],
        signing_key=node.signing_key,
        registry_key=public,
    )


def deliver(node: Node, application: dict):
    sealed = sealed_envelope(node, application)
    return node.client.post(
        "/api/v1/applications",
        json=sealed,
        headers={
            "Authorization": node.headers["Authorization"],
            "Idempotency-Key": sealed["submission_id"],
        },
    )


def check_receipt(node: Node, answer, application: dict) -> None:
    receipt.check(
        answer.json,
        key=receipt.public_key(registry_signing_key(node.registry)),
        node_id=node.node_id,
        submission_id=application["submission_id"],
        payload_sha256=payload.sha256(payload.encode(application)),
    )


def test_a_receipt_waits_until_every_listed_file_is_held(registry, node):
    application = application_2()
    first = deliver(node, application)
    assert first.status_code == 202
    assert first.json == {"status": "awaiting_files", "missing": sorted([FILE_SHA, SECOND_SHA])}
    assert "signature" not in first.json
    node.upload(FILE)
    second = deliver(node, application)
    assert second.status_code == 202 and second.json["missing"] == [SECOND_SHA]
    node.upload(SECOND)
    third = deliver(node, application)
    assert third.status_code == 201 and third.json["status"] == "created"
    check_receipt(node, third, application)
    again = deliver(node, application)
    assert again.status_code == 200 and again.json["status"] == "already_received"
    check_receipt(node, again, application)
    assert again.json["registry_id"] == third.json["registry_id"]
    assert again.json["received_at"] == third.json["received_at"]
    [stored] = rows(registry, "applications")  # recorded once, at the first delivery
    assert f"R{stored['id']:08d}" == third.json["registry_id"]
    assert rows(registry, "files_awaited") == []


def test_files_sent_first_give_the_receipt_at_once(node):
    node.upload(FILE)
    node.upload(SECOND)
    answer = deliver(node, application_2())
    assert answer.status_code == 201
    check_receipt(node, answer, application_2())
    assert deliver(node, application_2()).status_code == 200


def test_files_of_another_application_do_not_count(node):
    node.upload(FILE, submission_id=OTHER_SID)
    node.upload(SECOND)
    answer = deliver(node, application_2())
    assert answer.status_code == 202 and answer.json["missing"] == [FILE_SHA]


def test_a_changed_application_still_conflicts_while_awaiting(node):
    application = application_2()
    assert deliver(node, application).status_code == 202
    application["project"]["title"] = "Басқа"
    assert "another payload" in deliver(node, application).json["error"]


def test_an_envelope_is_still_at_most_1_mb_though_a_chunk_may_be_4(node):
    """The registry takes 4 MB bodies for chunks; an envelope keeps its own limit."""
    answer = node.client.post(
        "/api/v1/applications",
        data=b" " * (1024 * 1024 + 1),
        headers={"Authorization": node.headers["Authorization"], "Idempotency-Key": SID},
    )
    assert answer.status_code == 413 and answer.json == {
        "error": "the envelope is larger than 1 MB"
    }


def test_a_version_1_application_is_receipted_as_before(registry, node):
    application = valid_application(SID)
    first = deliver(node, application)
    assert first.status_code == 201 and first.json["status"] == "created"
    check_receipt(node, first, application)
    again = deliver(node, application)
    assert again.status_code == 200 and again.json["registry_id"] == first.json["registry_id"]
    assert rows(registry, "files_awaited") == []


def test_an_imported_bundle_reports_an_application_awaiting_files(registry, node):
    application = application_2()
    sealed = sealed_envelope(node, application)
    carried = bundle.make("node-a", node.signing_key, [envelope.canonical(sealed)])
    file = Path(registry.config["INSTANCE"]) / "bundle.json"
    file.write_text(json.dumps(carried))
    env = registry_env(registry)
    result = CliRunner().invoke(registry_cli, ["import", str(file)], env=env)
    assert result.exit_code == 0, result.output
    assert f"awaiting files {SID}: 2 not here" in result.output
    assert "Imported 0 new applications; 0 were already here; 1 await their files." in (
        result.output
    )
    assert len(rows(registry, "applications")) == 1
    node.upload(FILE)
    node.upload(SECOND)
    result = CliRunner().invoke(registry_cli, ["import", str(file)], env=env)
    assert "awaiting" not in result.output
    assert "Imported 1 new applications; 0 were already here." in result.output
    assert deliver(node, application).status_code == 200  # the network path finds it


# The published contract ----------------------------------------------------------------


def test_the_openapi_document_describes_the_files_api_as_built(registry, node):
    paths = OPENAPI["paths"]
    statuses = {
        (path, method): sorted(operation["responses"])
        for path in ("/api/v1/files", "/api/v1/files/{file_id}")
        for method, operation in paths[path].items()
        if method != "parameters"
    }
    assert statuses == {
        ("/api/v1/files", "options"): ["204", "401", "403"],
        ("/api/v1/files", "post"): ["201", "400", "401", "403", "412", "413", "429"],
        ("/api/v1/files/{file_id}", "head"): ["200", "401", "403", "404", "412"],
        ("/api/v1/files/{file_id}", "patch"): [
            "204",
            "400",
            "401",
            "403",
            "404",
            "409",
            "412",
            "413",
            "415",
            "422",
            "460",
        ],
    }
    options = paths["/api/v1/files"]["options"]["responses"]["204"]["headers"]
    answer = node.options()
    for name, header in options.items():
        assert answer.headers[name] == header["schema"]["const"], name
    meta, sealed = node.seal(FILE)
    created = node.create(len(sealed), metadata(**meta))
    location = created.headers["Location"]
    pattern = paths["/api/v1/files"]["post"]["responses"]["201"]["headers"]["Location"]
    assert re.fullmatch(pattern["schema"]["pattern"], location)
    head = paths["/api/v1/files/{file_id}"]["head"]["responses"]["200"]["headers"]
    assert set(head) <= set(node.head(location).headers.keys())
    done = node.patch(location, 0, sealed)
    patched = paths["/api/v1/files/{file_id}"]["patch"]["responses"]["204"]["headers"]
    assert set(patched) <= set(done.headers.keys())
    schemas = OPENAPI["components"]["schemas"]
    Draft202012Validator(schemas["Error"]).validate(node.patch(location, 0, b"x").json)
    waiting = deliver(node, application_2())
    applications = paths["/api/v1/applications"]["post"]["responses"]
    assert "202" in applications
    Draft202012Validator(schemas["AwaitingFiles"]).validate(waiting.json)
    assert not Draft202012Validator(schemas["AwaitingFiles"]).is_valid(
        {"status": "awaiting_files", "missing": ["ABC"]}
    )


def test_one_node_may_have_a_hundred_uploads_under_way_and_no_more(registry, node):
    meta, sealed = node.seal(FILE)
    for _ in range(files_store.MAX_UNFINISHED):
        node.start(meta, len(sealed))
    refused = node.create(len(sealed), metadata(**meta))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert refused.json["error"].startswith("too many unfinished uploads")
    other = add_node(registry, "node-b")  # each node counts alone
    other_meta, other_sealed = other.seal(FILE)
    assert other.create(len(other_sealed), metadata(**other_meta)).status_code == 201
