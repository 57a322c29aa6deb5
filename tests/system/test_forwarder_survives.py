"""The forwarder outlives a bad day: locks, failures inside its loop, a clock that jumped."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from kiosk import outbox
from kiosk.db import connect
from kiosk.outbox import forwarder as forwarder_module
from kiosk.outbox.forwarder import Forwarder, Outcome, start_in_background
from tests.forwarding import make_node, make_registry, queue_applications, serve_in_thread


@pytest.fixture
def node(tmp_path):
    registry = make_registry(tmp_path / "registry")
    url, server = serve_in_thread(registry)
    yield make_node(tmp_path / "node", registry, url)
    server.close()


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


def _wait_until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _delivered(db) -> int:
    return outbox.count(db, outbox.DELIVERED)


@pytest.fixture
def running(node):
    """Run a forwarder in a thread; stop it at the end of the test."""
    started = []

    def start(forwarder: Forwarder) -> threading.Thread:
        thread = threading.Thread(target=forwarder.run, daemon=True)
        thread.start()
        started.append((forwarder, thread))
        return thread

    yield start
    for forwarder, thread in started:
        forwarder.stop.set()
        thread.join(10)


def test_a_write_lock_held_past_the_busy_timeout_does_not_end_the_forwarder(
    node, db, running, monkeypatch
):
    """Another process holds the database longer than the forwarder will wait for it."""
    monkeypatch.setattr(
        forwarder_module,
        "connect",
        lambda path, **_: _with_busy_timeout(connect(path), milliseconds=50),
    )
    queue_applications(node, 1)
    blocker = sqlite3.connect(node.config["DATABASE"], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        thread = running(Forwarder(node))
        time.sleep(1.0)  # many times the busy timeout: every write it tries fails meanwhile
        assert thread.is_alive()
        assert _delivered(db) == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert _wait_until(lambda: _delivered(db) == 1), outbox.summary(db)
    assert thread.is_alive()


def _with_busy_timeout(database, milliseconds: int):
    database.execute(f"PRAGMA busy_timeout={milliseconds}")
    return database


def test_an_exception_inside_step_is_logged_by_type_and_the_loop_goes_on(
    node, db, running, monkeypatch, caplog
):
    queue_applications(node, 1)
    real_step, failures = Forwarder.step, []

    def failing_step(self, database):
        if len(failures) < 3:
            failures.append(1)
            raise sqlite3.OperationalError("disk I/O error near Айгерім 880215300125")
        return real_step(self, database)

    monkeypatch.setattr(Forwarder, "step", failing_step)
    caplog.set_level(logging.INFO)
    thread = running(Forwarder(node))
    assert _wait_until(lambda: _delivered(db) == 1), outbox.summary(db)
    assert thread.is_alive() and len(failures) == 3
    assert "OperationalError" in caplog.text
    assert "Айгерім" not in caplog.text and "880215300125" not in caplog.text


def test_the_supervisor_starts_a_forwarder_thread_again_when_it_ends(node, monkeypatch):
    runs = []

    def run(self):
        runs.append(threading.current_thread().name)
        if len(runs) >= 3:
            self.stop.wait()  # the third one stays, as a healthy forwarder does
        elif len(runs) == 2:
            raise RuntimeError("a bug nobody caught")
        return True  # the first one simply ends

    monkeypatch.setattr(Forwarder, "run", run)
    forwarder = start_in_background(node)
    try:
        assert _wait_until(lambda: len(runs) >= 3), runs
    finally:
        forwarder.stop.set()
    assert runs == ["forwarder"] * 3


def test_an_item_scheduled_while_the_clock_ran_ahead_is_due_now(node, db):
    """The clock ran in 2031 for a moment; the backoff it computed then is not waited out."""
    queue_applications(node, 1)
    db.execute(
        "UPDATE outbox SET status = 'waiting', next_attempt_at = '2031-05-01T10:00:00+00:00'"
    )
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED


def test_an_item_within_the_backoff_cap_still_waits(node, db):
    queue_applications(node, 1)
    node.config["BACKOFF_CAP"] = 1800
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat(timespec="milliseconds")
    db.execute("UPDATE outbox SET status = 'waiting', next_attempt_at = ?", [soon])
    assert Forwarder(node).step(db) is None


def test_queue_retry_makes_waiting_items_due_now(node, db):
    queue_applications(node, 2)
    node.config["BACKOFF_CAP"] = 1800
    later = (datetime.now(UTC) + timedelta(minutes=20)).isoformat(timespec="milliseconds")
    db.execute("UPDATE outbox SET status = 'waiting', next_attempt_at = ?", [later])
    forwarder = Forwarder(node)
    assert forwarder.step(db) is None
    output = node.test_cli_runner().invoke(args=["queue", "retry"]).output
    assert "Revived 2" in output
    assert [forwarder.step(db).outcome for _ in range(2)] == [Outcome.DELIVERED] * 2
