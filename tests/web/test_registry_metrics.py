"""GET /metrics on the registry, on SQLite and on PostgreSQL: exact counts after real deliveries,
the database's own numbers at scrape time, gunicorn's workers added up, and access as on the node.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk import drafts, outbox, submissions
from kiosk.config import ConfigError
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, Outcome, deliver, registry_of
from kiosk.registry import database, settings
from kiosk.registry import store as registry_store
from tests import documents_samples as samples
from tests.forwarding import flat_answers, make_node, make_registry, served
from tests.system.test_files_delivery import submit_with
from tests.web.test_metrics import IIN, NAME, PHONE_FORMS, TOKEN, value
from tests.web.test_metrics import samples as samples_of

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = "/api/v1/applications"


def scrape(app, **kwargs) -> str:
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def received(text: str, status: str) -> float:
    return value(text, "registry_applications_received_total", status=status) or 0.0


def posts(text: str, status: int) -> float:
    labels = {"route": APPLICATIONS, "method": "POST", "status": str(status)}
    return value(text, "registry_http_requests_total", **labels) or 0.0


@pytest.fixture
def registry(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    with served(app) as url:
        yield app, url


@pytest.fixture
def node(tmp_path, registry):
    return make_node(tmp_path / "node", registry[0], registry[1], DOCUMENTS=True)


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


def post(url: str, body: bytes, token: str) -> int:
    request = urllib.request.Request(
        url + APPLICATIONS,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "x"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_every_kind_of_answer_to_an_envelope_is_counted_exactly(node, db, registry):
    registry_app, url = registry
    before = scrape(registry_app)
    assert value(before, "registry_nodes", state="active") == 1
    assert value(before, "registry_database_up") == 1
    pdf = samples.pdf(pages=1)
    with_files, _ = submit_with(node, pdf)

    # The envelope before its file: stored, answered 202, no receipt.
    item = outbox.claim(db, timedelta(seconds=5), backoff_cap=timedelta(seconds=1))
    assert item.submission_id == with_files
    assert deliver(registry_of(node), item).missing
    outbox.put_back(db, item.submission_id)
    waiting = scrape(registry_app)
    assert received(waiting, "awaiting_files") == 1 and received(waiting, "created") == 0
    assert value(waiting, "registry_applications_awaiting_files") == 1
    assert value(waiting, "registry_files_kept") == 0

    # The forwarder sends the file, then the envelope: the first receipt (201).
    forwarder = Forwarder(node)
    assert forwarder.step(db).outcome is Outcome.DELIVERED
    with node.test_request_context("/"):
        draft = drafts.create()
        draft.answers = flat_answers()
        drafts.save(draft)
        submissions.submit(draft.id, "kk")
    assert forwarder.step(db).outcome is Outcome.DELIVERED
    # The first envelope again (a node that lost its receipt): the same receipt, 200.
    assert deliver(registry_of(node), item).outcome is Outcome.DELIVERED
    # Refused: a token the registry never gave out, and a body that is no envelope.
    assert post(url, b"{}", "not-a-token") == 401
    assert post(url, b"not json", node.config["REGISTRY_TOKEN"]) == 400

    text = scrape(registry_app)
    assert received(text, "created") == 2
    assert received(text, "already") == 1
    assert received(text, "awaiting_files") == 1
    assert received(text, "refused") == 2
    assert (posts(text, 201), posts(text, 200), posts(text, 202)) == (2, 1, 1)
    assert (posts(text, 401), posts(text, 400)) == (1, 1)
    latency = "registry_http_request_duration_seconds_count"
    assert value(text, latency, route=APPLICATIONS, method="POST") == 6
    assert value(text, "registry_applications", via="http") == 2
    assert value(text, "registry_applications_awaiting_files") == 0
    assert value(text, "registry_files_kept") == 1
    assert value(text, "registry_files_kept_bytes") >= len(pdf)
    # The file went by tus: counted under its route's pattern, never its id.
    patterns = {
        dict(labels)["route"]
        for (name, labels) in samples_of(text)
        if name == "registry_http_requests_total"
    }
    assert any("<" in pattern and pattern.startswith("/api/v1/files") for pattern in patterns)
    with registry_app.app_context():
        ids = [row["file_id"] for row in database.get_db().rows("SELECT file_id FROM file_uploads")]
    assert all(file_id not in text for file_id in ids)
    assert with_files not in text and item.submission_id not in text


def test_what_the_database_holds_is_read_at_each_scrape(registry):
    """Another process (a bundle import, another worker) writes; the next scrape has it."""
    registry_app, _ = registry
    with database.connected(registry_app.config) as db:
        registry_store.add_node(db, "node-a", "key")
        registry_store.add_node(db, "node-b", "key")
        db.execute("UPDATE nodes SET disabled = 1 WHERE node_id = ?", ["node-b"])
        registry_store.record(db, "node-a", "sub-1", b'{"x": 1}', via="bundle")
        registry_store.record(db, "node-a", "sub-2", b'{"x": 2}', via="bundle")
    text = scrape(registry_app)
    assert value(text, "registry_applications", via="bundle") == 2
    assert value(text, "registry_applications", via="http") is None
    assert received(text, "created") == 0  # counted only where the HTTP POST is answered
    assert value(text, "registry_nodes", state="active") == 1
    assert value(text, "registry_nodes", state="disabled") == 1
    for node_id in ("node-a", "node-b", "sub-1", "sub-2"):
        assert node_id not in text


def test_an_unavailable_database_is_said_and_the_scrape_still_answers(registry, monkeypatch):
    registry_app, _ = registry

    def unavailable(config):
        raise database.Unavailable("connection refused")

    monkeypatch.setattr(database, "connected", unavailable)
    text = scrape(registry_app)
    assert value(text, "registry_database_up") == 0
    assert value(text, "registry_files_kept") is None


def test_no_applicant_data_in_the_registrys_metrics(node, db, registry):
    registry_app, _ = registry
    answers = flat_answers("individual")
    answers.update(full_name=NAME, iin=IIN, contact_name=NAME, phone=PHONE_FORMS[0])
    with node.test_request_context("/"):
        draft = drafts.create()
        draft.answers = answers
        drafts.save(draft)
        submission_id = submissions.submit(draft.id, "kk")
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED
    [reference] = [row[0] for row in db.execute("SELECT reference FROM submissions")]
    with registry_app.app_context():
        [stored] = database.get_db().rows("SELECT payload FROM applications")
    assert NAME in stored["payload"]  # the registry holds it: the metrics must not show it
    text = scrape(registry_app)
    assert received(text, "created") == 1
    for secret in (NAME, *NAME.split(), IIN, *PHONE_FORMS, reference, submission_id):
        assert secret not in text, secret
    assert node.config["NODE_ID"] not in text


# Who may read it ---------------------------------------------------------------------------


def refused(app, **kwargs) -> bool:
    """The registry's JSON 404, as for any unknown path, and no metric."""
    response = app.test_client().get("/metrics", **kwargs)
    unknown = app.test_client().get("/no-such-path")
    return (
        response.status_code == 404
        and response.json == unknown.json == {"error": "not found"}
        and "registry_" not in response.text
    )


def test_only_this_host_not_through_a_proxy_or_the_token(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend, METRICS_TOKEN=TOKEN)
    assert value(scrape(app), "registry_database_up") == 1
    assert value(scrape(app, environ_base={"REMOTE_ADDR": "::1"}), "registry_database_up") == 1
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    assert refused(app, environ_base=remote)
    # gunicorn behind nginx on this host: the peer is 127.0.0.1, the client in the header.
    assert refused(app, headers={"X-Forwarded-For": "203.0.113.7"})
    assert refused(app, headers={"Forwarded": "for=127.0.0.1;proto=https"})
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert value(scrape(app, environ_base=remote, headers=bearer), "registry_database_up") == 1
    for wrong in (f"Bearer {TOKEN[:-1]}", "Bearer ", "Bearer", f"Bearer {'b' * 60_000}", TOKEN):
        assert refused(app, environ_base=remote, headers={"Authorization": wrong}), wrong[:20]


def test_without_a_token_set_an_empty_one_opens_nothing(registry):
    registry_app, _ = registry
    for authorization in ("Bearer ", "Bearer", "Bearer  "):
        headers = {"Authorization": authorization}
        assert refused(registry_app, environ_base={"REMOTE_ADDR": "203.0.113.7"}, headers=headers)


def test_the_token_comes_from_the_environment_and_a_weak_one_stops_the_start(tmp_path):
    assert settings({"REGISTRY_METRICS_TOKEN": TOKEN})["METRICS_TOKEN"] == TOKEN
    assert settings({})["METRICS_TOKEN"] == ""
    with pytest.raises(ConfigError, match="REGISTRY_METRICS_TOKEN"):
        make_registry(tmp_path / "registry", METRICS_TOKEN="too short")


# gunicorn's workers ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _workers(master: subprocess.Popen) -> set[int]:
    """The master's living children."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master.pid and fields[0] != "Z":
            pids.add(int(stat.parent.name))
    return pids


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None  # no answer: the request never reached the app


def test_gunicorn_workers_counts_are_added_up_even_after_they_die(tmp_path, registry_backend):
    """Two workers with PROMETHEUS_MULTIPROC_DIR; both killed halfway and replaced."""
    folder = tmp_path / "registry"
    registry_app = make_registry(folder, **registry_backend)  # keys and schema
    port = _free_port()
    env = {
        **os.environ,
        "REGISTRY_INSTANCE": str(folder),
        "REGISTRY_DATABASE_URL": registry_app.config["DATABASE_URL"],
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
    }
    command = [GUNICORN, "--workers", "2", "--preload", "--bind", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", "kiosk.registry:create_registry_app()"]
    master = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    answered = 0
    try:
        deadline = time.monotonic() + 120  # a generous wait on a loaded machine, not a limit
        while len(_workers(master)) < 2 or _get(base + "/healthz") != 200:
            assert master.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        answered += 1
        for _ in range(10):
            answered += _get(base + "/healthz") == 200
        first = _workers(master)
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        while len(_workers(master) - first) < 2:
            assert time.monotonic() < deadline, "gunicorn did not replace its workers"
            time.sleep(0.1)
        for _ in range(10):
            answered += _get(base + "/healthz") == 200
        text = ""
        while not text:
            try:
                with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
                    text = response.read().decode()
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(30)
    labels = {"route": "/healthz", "method": "GET", "status": "200"}
    # Every answered request, by the workers that died and by those that replaced them.
    assert value(text, "registry_http_requests_total", **labels) == answered
    assert (
        value(text, "registry_http_request_duration_seconds_count", route="/healthz", method="GET")
        == answered
    )
    counters = {path.name for path in (folder / "metrics").glob("counter_*.db")}
    assert len(counters) >= 2  # a dead worker's file (its counts above) and a living one's
    assert value(text, "registry_database_up") == 1
    assert value(text, "registry_nodes", state="active") == 0
