"""Attacks on the delivery of supporting documents: a lying registry, other nodes, bundles.

Written as a reviewer's attack on issue 13. A test marked "FINDING" fails today and says
in its comment what the correct behaviour would be; the others guard what holds and is
not tested elsewhere (tests/system/test_files_delivery.py, tests/web/test_files_registry.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from kiosk import outbox
from kiosk.db import connect, get_db
from kiosk.documents import store
from kiosk.outbox import files
from kiosk.outbox.forwarder import Forwarder, Outcome
from kiosk.outbox.transport import registry_of
from kiosk.registry import files_store
from kiosk.registry.cli import registry_cli
from tests import documents_samples as samples
from tests.forwarding import make_node, make_registry, registry_rows, serve_in_thread
from tests.system.test_files_delivery import held, submit_with
from tests.web.test_files_registry import (
    FILE,
    SECOND,
    SID,
    add_node,
    application_2,
    deliver,
)


@pytest.fixture
def registry(tmp_path):
    app = make_registry(tmp_path / "registry")
    url, server = serve_in_thread(app)
    yield app, url
    server.close()


@pytest.fixture
def node(tmp_path, registry):
    return make_node(tmp_path / "node", registry[0], registry[1], DOCUMENTS=True)


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


class Liar:
    """Stands in for `files._ask`: answers each tus request from a script, by method."""

    def __init__(self, **script) -> None:
        self.script = {method: list(answers) for method, answers in script.items()}
        self.asked: list[tuple[str, str]] = []

    def __call__(self, url, method, headers, data, timeout):
        self.asked.append((method, url))
        answers = self.script[method]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        status, head = answer if isinstance(answer, tuple) else (answer, {})
        return status, {name.lower(): value for name, value in head.items()}, b""


def created(location: str = "/api/v1/files/" + "a" * 32):
    return 201, {"Location": location}


def one_file(node, db):
    """A submitted application with one file of three chunks; (its id, the file)."""
    submission_id, _cleaned = submit_with(node, samples.big_pdf(600_000))
    [file] = store.outgoing(db, submission_id)
    return submission_id, file


def send(node, db, submission_id):
    return files.send(db, registry_of(node), submission_id, timeout=1, budget=5)


def export(node, tmp_path):
    runner = node.test_cli_runner()
    usb = tmp_path / "usb"
    runner.invoke(args=["queue", "export", str(usb)])
    [file] = list(usb.iterdir())
    return file


def import_bundle(registry_app, path):
    env = {"REGISTRY_INSTANCE": str(registry_app.config["INSTANCE"])}
    return CliRunner().invoke(registry_cli, ["import", str(path)], env=env)


# Findings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["resumed", "after a 409"])
def test_a_head_offset_past_the_file_is_not_taken_as_finished(node, db, monkeypatch, how):
    # FINDING. files._offset believes any Upload-Offset HEAD answers: one larger than the
    # sealed file (a lying or confused registry, a proxy's cached answer) ends the chunk
    # loop at once and store.upload_finished marks the file held though no byte was sent.
    # (A PATCH's 204 is range-checked; HEAD is not.) Only the registry's later 202 undoes
    # it. Correct: an offset outside 0..len(sealed), or an Upload-Length other than the
    # sealed size, is trouble (RETRY, or the upload made again), never "finished".
    submission_id, file = one_file(node, db)
    past = {"Upload-Offset": str(len(file.sealed) * 10)}
    if how == "resumed":
        store.upload_started(db, file.id, registry_of(node).url + "/api/v1/files/" + "a" * 32)
        liar = Liar(HEAD=[(200, past)])
    else:
        liar = Liar(POST=[created()], PATCH=[409], HEAD=[(200, past)])
    monkeypatch.setattr(files, "_ask", liar)
    progress = send(node, db, submission_id)
    assert progress.sent is not files.Sent.ALL
    assert not store.outgoing(db, submission_id)[0].uploaded


def test_another_nodes_file_does_not_complete_an_application(registry):
    # FINDING. The registry keeps files by (submission_id, sha256) whoever uploaded them, and
    # files_store.missing asks only that: node B can upload under node A's submission id, and
    # A's application is then signed for as "every file has arrived" though A never sent it
    # (the row says node_id = node-b). Correct: a file counts only for the node whose
    # application it is (files_store.missing filtered by the application's node_id, and
    # files keyed with the node), as an upload belongs to the node that created it.
    app = registry[0]
    node_a, node_b = add_node(app, "node-a"), add_node(app, "node-b")
    assert node_b.upload(FILE).status_code == 204  # under node A's SID
    node_a.upload(SECOND)
    answer = deliver(node_a, application_2())
    assert answer.status_code == 202, answer.json


def test_files_no_application_lists_are_not_kept_for_ever(registry):
    # FINDING. Unfinished uploads are swept after 7 days, but a finished file whose
    # application never comes (a node that uploads for random submission ids, buggy or
    # taken over; nothing bounds how many) stays in `files` for ever, up to 10 MB each.
    # Correct: files_store.delete_stale also deletes files older than STALE_AFTER whose
    # submission id has no application (the 202 asks for them again if it comes later),
    # or creation refuses a node past a bound of unfinished uploads and unclaimed files.
    app = registry[0]
    node_a = add_node(app, "node-a")
    for _ in range(3):
        assert node_a.upload(FILE, submission_id=str(uuid.uuid4())).status_code == 204
    later = datetime.now(UTC) + timedelta(days=30)
    with app.app_context():
        db = get_db()
        real_now = files_store._now
        files_store._now = lambda: later
        try:
            node_a.start(node_a.seal(SECOND)[0], 10)  # a creation: the sweep runs
        finally:
            files_store._now = real_now
        assert db["files"].count == 0


@pytest.mark.parametrize(
    "envelopes", [["not an envelope"], 5, {"a": 1}, [None]], ids=["str", "int", "dict", "null"]
)
def test_a_bundle_whose_envelopes_are_not_objects_is_refused_not_a_traceback(
    node, registry, tmp_path, envelopes
):
    # FINDING (minor). The manifest's signature is over the manifest only: a bundle whose
    # "envelopes" were replaced by a string, a number or a dict passes the signature, then
    # bundle.open_bundle does sealed.get(...) outside its try: AttributeError or TypeError,
    # a traceback from `flask registry import`. Correct: "refused: not a bundle …" (exit 1,
    # a ClickException), as for every other malformed bundle.
    submit_with(node, samples.pdf())
    carried = json.loads(export(node, tmp_path).read_text())
    carried["envelopes"] = envelopes
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(carried))
    result = import_bundle(registry[0], bad)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "refused" in result.output


# What holds (not tested elsewhere) --------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "//evil.example/api/v1/files/" + "a" * 32,
        "http://evil.example/api/v1/files/" + "a" * 32,
        "/api/v1/files/../applications",
        "/elsewhere/" + "a" * 32,
        "",
    ],
)
def test_an_upload_address_off_the_registry_is_never_followed(node, db, monkeypatch, location):
    submission_id, _file = one_file(node, db)
    liar = Liar(POST=[created(location)], PATCH=[204], HEAD=[404])
    monkeypatch.setattr(files, "_ask", liar)
    assert send(node, db, submission_id).sent is files.Sent.RETRY
    assert [method for method, _url in liar.asked] == ["POST"]  # the token went nowhere else
    assert store.outgoing(db, submission_id)[0].upload_url is None


@pytest.mark.parametrize(
    "answer",
    [(204, {}), (204, {"Upload-Offset": "0"}), (204, {"Upload-Offset": "99999999"}), 302, 200],
    ids=["no offset", "no progress", "past the chunk", "redirect", "a portal's 200"],
)
def test_a_chunk_answer_that_is_not_tus_is_retried_and_nothing_is_marked(
    node, db, monkeypatch, answer
):
    submission_id, _file = one_file(node, db)
    monkeypatch.setattr(files, "_ask", Liar(POST=[created()], PATCH=[answer]))
    assert send(node, db, submission_id).sent is files.Sent.RETRY
    assert not store.outgoing(db, submission_id)[0].uploaded


def test_a_202_naming_files_the_application_never_listed_changes_nothing(
    node, db, registry, monkeypatch
):
    from kiosk.outbox import forwarder as forwarding

    submission_id, file = one_file(node, db)
    store.upload_finished(db, file.id)
    foreign = forwarding.Result(Outcome.RETRY, "HTTP 202", missing=["f" * 64, "0" * 64])
    monkeypatch.setattr(forwarding, "deliver", lambda *args, **kwargs: foreign)
    result = Forwarder(node).step(db)
    assert result.outcome is Outcome.RETRY
    [kept] = store.outgoing(db, submission_id)
    assert kept.uploaded and kept.sealed == file.sealed
    assert outbox.delivery_of(db, submission_id)[0] != outbox.DELIVERED


def test_a_bundle_carrying_files_of_an_application_not_in_it_is_refused(node, registry, tmp_path):
    submit_with(node, samples.pdf())
    carried = json.loads(export(node, tmp_path).read_text())
    carried["files"][0]["submission_id"] = SID  # moved to another application
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(carried))
    result = import_bundle(registry[0], bad)
    assert "the files do not match the signed manifest" in result.output
    assert registry_rows(registry[0]) == [] and held(registry[0], SID) == {}
