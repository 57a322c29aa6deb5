"""Supporting documents delivered to a real registry: tus uploads that resume, then the envelope.

The node uploads each sealed file in chunks (kiosk/outbox/files.py), and sends the
application only when the registry holds them all; the registry signs a receipt only
then. A registry that answers 5xx in the middle of a file, loses an upload, or says
a file is still missing gets the file again, and in the end holds each file once and
hash-equal to what the applicant's node kept.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from kiosk import drafts, outbox, submissions
from kiosk.db import connect, get_db
from kiosk.documents import checks, store
from kiosk.node import identity
from kiosk.outbox import files
from kiosk.outbox.forwarder import Forwarder, Outcome
from kiosk.registry.database import get_db as registry_db
from tests import documents_samples as samples
from tests.forwarding import (
    ScriptedProxy,
    flat_answers,
    make_node,
    make_registry,
    registry_env,
    registry_rows,
    serve_in_thread,
)


@pytest.fixture
def registry(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    url, server = serve_in_thread(app)
    yield app, url
    server.close()


@pytest.fixture
def proxy(registry):
    scripted = ScriptedProxy(registry[1])
    yield scripted
    scripted.close()


@pytest.fixture
def node(tmp_path, registry, proxy):
    return make_node(tmp_path / "node", registry[0], proxy.url, DOCUMENTS=True)


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


def submit_with(node_app, *contents: bytes) -> tuple[str, list[checks.Cleaned]]:
    """Submit one application with these files, as the documents page keeps them."""
    cleaned = [checks.inspect(content, f"file{n}.pdf") for n, content in enumerate(contents)]
    with node_app.test_request_context("/"):
        draft = drafts.create()
        draft.answers = flat_answers()
        me = identity()
        kept = [
            store.add(
                get_db(), draft.submission_id, c, node_id=me.node_id, registry_key=me.registry_key
            )
            for c in cleaned
        ]
        draft.answers["attachments"] = [k.as_answer() for k in kept]
        drafts.save(draft)
        return submissions.submit(draft.id, "kk"), cleaned


def held(registry_app, submission_id: str) -> dict[str, bytes]:
    """The files the registry keeps for an application, by hash."""
    with registry_app.app_context():
        rows = registry_db().execute(
            "SELECT sha256, data FROM files WHERE submission_id = ?", [submission_id]
        )
        return {row[0]: row[1] for row in rows}


def drain(node_app, db, turns: int = 200) -> list[Outcome]:
    """Step the forwarder until the outbox has nothing due, making backoffs due at once."""
    forwarder = Forwarder(node_app)
    outcomes = []
    for _ in range(turns):
        db.execute("UPDATE outbox SET next_attempt_at = created_at WHERE status = 'waiting'")
        result = forwarder.step(db)
        if result is None:
            return outcomes
        outcomes.append(result.outcome)
    raise AssertionError(f"not drained: {outcomes[-10:]}")


def test_an_application_with_files_is_delivered_with_every_file_once(node, db, registry):
    photo, budget = samples.jpeg(width=900, height=600, exif=True), samples.pdf(pages=3)
    submission_id, cleaned = submit_with(node, photo, budget)
    outcomes = drain(node, db)
    assert outcomes[-1] is Outcome.DELIVERED
    kept = held(registry[0], submission_id)
    assert kept == {c.sha256: c.data for c in cleaned}
    assert all(hashlib.sha256(data).hexdigest() == sha for sha, data in kept.items())
    [row] = registry_rows(registry[0])
    assert row["submission_id"] == submission_id
    assert db["attachments"].count == 0  # the node's sealed copies go with the receipt
    assert outbox.delivery_of(db, submission_id)[0] == outbox.DELIVERED


def test_a_file_larger_than_one_chunk_goes_in_chunks_and_resumes_after_a_5xx(
    node, db, registry, proxy
):
    big = samples.big_pdf(3 * files.CHUNK + 1000)
    submission_id, [cleaned] = submit_with(node, big)
    forwarder = Forwarder(node)
    # The creation and two chunks pass, then the registry fails twice mid-file.
    proxy.script.extend(["pass", "pass", "pass", 503, 502])
    outcomes = []
    for _ in range(30):
        db.execute("UPDATE outbox SET next_attempt_at = created_at WHERE status = 'waiting'")
        result = forwarder.step(db)
        if result is None:
            break
        outcomes.append(result.outcome)
    assert Outcome.RETRY in outcomes and outcomes[-1] is Outcome.DELIVERED
    assert held(registry[0], submission_id) == {cleaned.sha256: cleaned.data}
    patches = [seen for seen in proxy.seen]
    assert len(patches) >= 7  # creation, four chunks, and the two failures at least


def test_after_a_lost_upload_the_file_is_made_again(node, db, registry):
    submission_id, [cleaned] = submit_with(node, samples.pdf())
    registry_app, url = registry
    [file] = store.outgoing(db, submission_id)
    # A first turn creates the upload; then the registry loses it (a sweep, a restore).
    progress = files.send(db, _registry_of(node), submission_id, timeout=5, budget=0)
    assert progress.sent is files.Sent.MORE
    with registry_app.app_context():
        registry_db().execute("DELETE FROM file_uploads")
    drain(node, db)
    assert held(registry_app, submission_id) == {cleaned.sha256: cleaned.data}


def test_a_receipt_held_back_for_a_missing_file_sends_that_file_again(node, db, registry):
    submission_id, cleaned = submit_with(node, samples.pdf(), samples.png())
    registry_app, _url = registry
    forwarder = Forwarder(node)
    progress = files.send(db, _registry_of(node), submission_id, timeout=5, budget=60)
    assert progress.sent is files.Sent.ALL
    with registry_app.app_context():  # the registry lost one file after it arrived
        registry_db().execute("DELETE FROM files WHERE sha256 = ?", [cleaned[1].sha256])
    result = forwarder.step(db)
    assert result.outcome is Outcome.RETRY and result.missing == [cleaned[1].sha256]
    drain(node, db)
    assert held(registry_app, submission_id) == {c.sha256: c.data for c in cleaned}
    assert outbox.delivery_of(db, submission_id)[0] == outbox.DELIVERED


def test_a_file_the_registry_cannot_open_is_sent_again_once_then_dead(node, db, registry):
    submission_id, [cleaned] = submit_with(node, samples.pdf())
    db.execute("UPDATE attachments SET sealed = ?", [b"not what was sealed" * 10])
    outcomes = drain(node, db)
    assert outcomes[-1] is Outcome.DEAD
    [item] = [row for row in db["outbox"].rows if row["submission_id"] == submission_id]
    assert item["status"] == outbox.DEAD and "could not open a file" in item["last_error"]
    assert registry_rows(registry[0]) == []  # and the application was never sent without it


def test_wrong_credentials_while_sending_files_pause_the_queue(node, db):
    submit_with(node, samples.pdf())
    node.config["REGISTRY_TOKEN"] = "not-the-token"
    result = Forwarder(node).step(db)
    assert result.outcome is Outcome.PAUSE
    assert outbox.paused(db)


def _registry_of(node_app):
    from kiosk.outbox.transport import registry_of

    return registry_of(node_app)


# On a USB stick ----------------------------------------------------------------------------


def export(node_app, tmp_path):
    """`flask queue export` to a folder standing for a USB stick: (runner, output, the file)."""
    runner = node_app.test_cli_runner()
    usb = tmp_path / "usb"
    output = runner.invoke(args=["queue", "export", str(usb)]).output
    [file] = list(usb.iterdir())
    return runner, output, file


def test_a_bundle_carries_the_files_and_the_registry_signs_only_with_them(
    node, db, registry, tmp_path
):
    submission_id, cleaned = submit_with(node, samples.pdf(), samples.jpeg())
    runner, output, file = export(node, tmp_path)
    assert "Wrote 1 envelopes and 2 files" in output
    env = registry_env(registry[0])
    result = runner.invoke(args=["registry", "import", str(file)], env=env)
    assert "Imported 1 new applications; 0 were already here; 2 supporting documents kept" in (
        result.output
    ), result.output
    assert held(registry[0], submission_id) == {c.sha256: c.data for c in cleaned}
    [row] = registry_rows(registry[0])
    assert row["via"] == "bundle"
    drain(node, db)  # later, online: the same files and envelope again, kept once
    assert outbox.delivery_of(db, submission_id)[0] == outbox.DELIVERED
    assert len(registry_rows(registry[0])) == 1
    with registry[0].app_context():
        assert registry_db().execute("SELECT COUNT(*) FROM files").fetchone()[0] == 2


@pytest.mark.parametrize("change", ["a byte of a file", "a file left out", "a file added"])
def test_a_bundle_with_a_changed_file_is_refused_whole(node, registry, tmp_path, change):
    submit_with(node, samples.pdf(), samples.png())
    runner, _output, file = export(node, tmp_path)
    carried = json.loads(file.read_text())
    if change == "a byte of a file":
        sealed = bytearray(base64.b64decode(carried["files"][0]["sealed"]))
        sealed[len(sealed) // 2] ^= 1
        carried["files"][0]["sealed"] = base64.b64encode(bytes(sealed)).decode()
    elif change == "a file left out":
        carried["files"].pop()
    else:
        carried["files"].append(dict(carried["files"][0], sha256="0" * 64))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(carried))
    env = registry_env(registry[0])
    result = runner.invoke(args=["registry", "import", str(bad)], env=env)
    assert result.exit_code != 0 and "the files do not match the signed manifest" in result.output
    assert registry_rows(registry[0]) == []
    with registry[0].app_context():
        assert registry_db().execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0
