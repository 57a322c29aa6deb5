"""GET /healthz tells the truth: each promise checked, 503 with the reason when one fails."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections import namedtuple
from pathlib import Path

import pytest

from kiosk import health
from kiosk.outbox import heartbeat
from kiosk.outbox.forwarder import Forwarder
from tests.forwarding import queue_applications

CHECKS = {"forwarder", "database", "disk", "queue", "integrity"}


@pytest.fixture
def app(make_app):
    """A node whose forwarder runs elsewhere (or not at all): no heartbeat is expected."""
    return make_app(FORWARDER=False)


def test_a_healthy_node_answers_200_with_every_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok" and body["reasons"] == [] and body["queued"] == 0
    assert set(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["forwarder"]["state"] == "off"


def test_counts_the_queue_and_shows_no_applicant_data(app, client):
    queue_applications(app, 1)
    response = client.get("/healthz")
    assert response.json["queued"] == 1 and response.json["checks"]["queue"]["waiting"] == 1
    assert "Айгерім" not in response.text and "+7701" not in response.text


def test_a_forwarder_that_should_run_but_never_did_fails(make_app):
    response = make_app(FORWARDER=True).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["forwarder"]["state"] == "missing"
    assert "no forwarder" in " ".join(response.json["reasons"])


def test_a_running_forwarder_is_alive_and_a_stale_heartbeat_fails(app, client):
    forwarder = Forwarder(app)
    thread = threading.Thread(target=forwarder.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while heartbeat.last(Path(app.config["INSTANCE"])) is None:
            assert time.monotonic() < deadline, "the forwarder wrote no heartbeat"
            time.sleep(0.05)
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json["checks"]["forwarder"]["state"] == "running"
    finally:
        forwarder.stop.set()
        thread.join(10)
    # It died (or hangs) and promised its next loop for a minute ago:
    heartbeat.beat(Path(app.config["INSTANCE"]), next_within=-60)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["forwarder"]["state"] == "stale"
    assert any("forwarder" in reason for reason in response.json["reasons"])


def test_a_full_disk_fails(client, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**9, 10**9 - 10**6, 10**6))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["disk"] == {
        "ok": False,
        "reason": "less than 200 MB free on the database's disk",
        "free_mb": 0,
        "min_free_mb": 200,
    }


def test_a_database_that_takes_no_writes_fails(app, client, monkeypatch):
    monkeypatch.setattr(health, "TIMEOUT", 0.05)
    blocker = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        response = client.get("/healthz")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 503
    assert response.json["checks"]["database"]["ok"] is False
    assert "takes no writes" in " ".join(response.json["reasons"])
    assert client.get("/healthz").status_code == 200  # the lock is gone


def test_an_application_waiting_too_long_fails(app, client, db):
    queue_applications(app, 1)
    assert client.get("/healthz").status_code == 200
    db.execute("UPDATE outbox SET created_at = '2020-01-01T00:00:00.000+00:00'")
    response = client.get("/healthz")
    assert response.status_code == 503
    queue = response.json["checks"]["queue"]
    assert (
        queue["ok"] is False and queue["oldest_wait_hours"] > 24 and queue["max_wait_hours"] == 24
    )
    assert "waited more than 24 hours" in " ".join(response.json["reasons"])


def test_the_thresholds_come_from_the_settings(make_app):
    client = make_app(FORWARDER=False, HEALTH_MIN_FREE_MB=10**9).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["checks"]["disk"]["min_free_mb"] == 10**9


def test_the_integrity_check_at_start_is_reported(client):
    assert client.get("/healthz").json["checks"]["integrity"] == {"ok": True}
