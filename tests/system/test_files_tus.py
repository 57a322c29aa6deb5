"""Supporting documents over a real socket, uploaded by tuspy, the tus client nodes use.

The registry is served by waitress; a small WSGI layer in front of it records every
PATCH (where it started, how many bytes, the answer) and can lose an answer or
damage a chunk on the way, as a bad link would.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid
from contextlib import contextmanager

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tusclient import client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from waitress.server import create_server

from kiosk import envelope, payload, receipt
from kiosk.registry import store as registry_store
from kiosk.registry.database import get_db as registry_db
from kiosk.serving import waitress_options
from tests.forwarding import make_registry, registry_signing_key, served, valid_application

CHUNK = 256 * 1024
DATA = os.urandom(3_000_000)
SHA = hashlib.sha256(DATA).hexdigest()


class Link:
    """WSGI in front of the registry: records PATCHes; loses or damages the ones named."""

    def __init__(self, app) -> None:
        self.app = app
        self.patches: list[tuple[int, int, str]] = []  # (Upload-Offset, bytes, status)
        self.lose: set[int] = set()  # the n-th PATCH is taken, but its answer never comes
        self.damage: set[int] = set()  # the n-th PATCH has one bit flipped on the way

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "PATCH":
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        number = len(self.patches)
        if number in self.damage:
            body = bytes([body[0] ^ 1]) + body[1:]
        environ["wsgi.input"] = io.BytesIO(body)
        offset = int(environ["HTTP_UPLOAD_OFFSET"])
        answered: list[str] = []

        def record(status, headers, exc_info=None):
            answered.append(status)
            return start_response(status, headers, exc_info) if number not in self.lose else None

        result = self.app(environ, record)
        kept = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        self.patches.append((offset, len(body), answered[0].split()[0]))
        if number in self.lose:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"the link dropped"]
        return [kept]


@pytest.fixture
def registry(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    signing_key = Ed25519PrivateKey.generate()
    with app.app_context():
        token = registry_store.add_node(registry_db(), "node-a", envelope.public_text(signing_key))
    app.config["TEST_TOKEN"] = token
    app.config["TEST_SIGNING_KEY"] = signing_key
    link = Link(app.wsgi_app)
    app.wsgi_app = link
    with served(app) as url:
        yield app, url, link


def tus(registry) -> client.TusClient:
    app, url, _link = registry
    headers = {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"}
    return client.TusClient(url + "/api/v1/files", headers=headers)


def seal(app, data: bytes, submission_id: str, sha256: str = SHA) -> tuple[dict, bytes]:
    public = envelope.registry_private_key(app.config["PRIVATE_KEY"]).public_key()
    encryption, sealed = envelope.seal_file(
        data, node_id="node-a", submission_id=submission_id, sha256=sha256, registry_key=public
    )
    return {"submission_id": submission_id, "sha256": sha256, "encryption": encryption}, sealed


def kept_files(app) -> list[dict]:
    with app.app_context():
        return list(registry_db().rows("SELECT * FROM files"))


def test_tuspy_uploads_a_sealed_file_in_checked_chunks(registry):
    app, _url, link = registry
    submission_id = str(uuid.uuid4())
    metadata, sealed = seal(app, DATA, submission_id)
    uploader = tus(registry).uploader(
        file_stream=io.BytesIO(sealed), chunk_size=CHUNK, metadata=metadata, upload_checksum=True
    )
    uploader.upload()
    assert uploader.url.startswith(registry[1] + "/api/v1/files/")  # Location was relative
    chunks = -(-len(sealed) // CHUNK)
    assert [offset for offset, _size, _status in link.patches] == [n * CHUNK for n in range(chunks)]
    assert {status for _offset, _size, status in link.patches} == {"204"}
    [kept] = kept_files(app)
    assert kept["data"] == DATA and kept["sha256"] == SHA and kept["submission_id"] == submission_id
    assert uploader.get_offset() == len(sealed)  # HEAD of a finished upload: all of it


def test_a_new_uploader_goes_on_from_the_registrys_offset_after_a_lost_answer(registry):
    app, _url, link = registry
    submission_id = str(uuid.uuid4())
    metadata, sealed = seal(app, DATA, submission_id)
    first = tus(registry).uploader(
        file_stream=io.BytesIO(sealed), chunk_size=CHUNK, metadata=metadata, upload_checksum=True
    )
    first.upload(stop_at=3 * CHUNK)
    assert first.offset == 3 * CHUNK
    link.lose.add(3)  # the fourth chunk arrives, and its answer is lost
    with pytest.raises(TusUploadFailed):
        first.upload(stop_at=4 * CHUNK)
    assert first.offset == 3 * CHUNK
    url = first.url
    del first  # the node restarted: only the upload's URL was kept

    again = tus(registry).uploader(
        file_stream=io.BytesIO(sealed), url=url, chunk_size=CHUNK, upload_checksum=True
    )
    assert again.offset == 4 * CHUNK  # asked by HEAD: the fourth chunk was kept
    again.upload()
    offsets = [offset for offset, _size, _status in link.patches]
    assert offsets == sorted(set(offsets))  # no chunk was sent twice
    assert sum(size for _offset, size, _status in link.patches) == len(sealed)
    [kept] = kept_files(app)
    assert kept["data"] == DATA

    # With its file held, the application gets its receipt at the first delivery.
    application = valid_application(submission_id)
    application["schema"] = payload.SCHEMA_2
    application["attachments"] = [
        {"name": "устав.pdf", "media_type": "application/pdf", "size": len(DATA), "sha256": SHA}
    ]
    text = payload.encode(application)
    sealed_envelope = envelope.seal(
        text.encode(),
        node_id="node-a",
        submission_id=submission_id,
        signing_key=app.config["TEST_SIGNING_KEY"],
        registry_key=envelope.registry_private_key(app.config["PRIVATE_KEY"]).public_key(),
    )
    answer = requests.post(
        registry[1] + "/api/v1/applications",
        json=sealed_envelope,
        headers={
            "Authorization": f"Bearer {app.config['TEST_TOKEN']}",
            "Idempotency-Key": submission_id,
        },
        timeout=10,
    )
    assert answer.status_code == 201
    receipt.check(
        answer.json(),
        key=receipt.public_key(registry_signing_key(app)),
        node_id="node-a",
        submission_id=submission_id,
        payload_sha256=payload.sha256(text),
    )


def test_a_chunk_damaged_on_the_way_is_refused_and_sent_again(registry):
    app, _url, link = registry
    metadata, sealed = seal(app, DATA, str(uuid.uuid4()))
    link.damage.add(1)
    uploader = tus(registry).uploader(
        file_stream=io.BytesIO(sealed),
        chunk_size=CHUNK,
        metadata=metadata,
        upload_checksum=True,
        retries=1,
        retry_delay=0,
    )
    uploader.upload()
    statuses = [status for _offset, _size, status in link.patches]
    assert statuses[1] == "460" and statuses.count("460") == 1
    assert [offset for offset, _size, _status in link.patches][1:3] == [CHUNK, CHUNK]
    [kept] = kept_files(app)
    assert kept["data"] == DATA


def test_a_file_that_is_not_the_one_named_fails_the_upload_and_is_gone(registry):
    app, _url, link = registry
    other = hashlib.sha256(b"another file").hexdigest()
    metadata, sealed = seal(app, DATA, str(uuid.uuid4()), sha256=other)
    uploader = tus(registry).uploader(
        file_stream=io.BytesIO(sealed), chunk_size=CHUNK, metadata=metadata, upload_checksum=True
    )
    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload()
    assert failed.value.status_code == 422
    assert link.patches[-1][2] == "422"
    with pytest.raises(TusCommunicationError):
        uploader.get_offset()  # HEAD: 404, no Upload-Offset
    assert kept_files(app) == []


@contextmanager
def served_as_run_py_does(app):
    """The registry behind waitress with the options `python run.py registry` gives it."""
    options = waitress_options({**app.config, "HOST": "127.0.0.1", "PORT": 0}, ident="registry")
    server = create_server(app, **options, asyncore_loop_timeout=0.1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(2)


def test_the_registry_as_served_takes_a_4_mb_chunk(tmp_path):
    app = make_registry(tmp_path / "served")
    with app.app_context():
        token = registry_store.add_node(registry_db(), "node-a", "not used for files")
    data = os.urandom(6_000_000)
    metadata, sealed = seal(app, data, str(uuid.uuid4()), hashlib.sha256(data).hexdigest())
    with served_as_run_py_does(app) as url:
        uploader = client.TusClient(
            url + "/api/v1/files", headers={"Authorization": f"Bearer {token}"}
        ).uploader(
            file_stream=io.BytesIO(sealed),
            chunk_size=4 * 1024 * 1024,
            metadata=metadata,
            upload_checksum=True,
        )
        uploader.upload(stop_at=4 * 1024 * 1024)
        assert uploader.get_offset() == 4 * 1024 * 1024
        uploader.upload()
    [kept] = kept_files(app)
    assert kept["data"] == data
