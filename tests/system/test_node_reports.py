"""A node's reports of its health reach the registry (kiosk/outbox/report.py).

A real node and a real reference registry served in a thread, on both registry
backends, with a scripted proxy between them; the forwarder is driven turn by turn
and the reporter's clock is set by the test, so 15 minutes pass without sleeping.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kiosk import drafts, outbox, submissions
from kiosk.db import connect
from kiosk.outbox import report
from kiosk.outbox.forwarder import Forwarder
from kiosk.registry import reports_store
from kiosk.registry.database import get_db as registry_db
from tests.forwarding import ScriptedProxy, flat_answers, make_node, make_registry, served

PLACE = {"KIOSK_ID": "kiosk-07", "KIOSK_CENTRE": "Әлеуметтік қызмет орталығы №3"}


@pytest.fixture
def registry(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    with served(app) as url:
        yield app, url


@pytest.fixture
def proxy(registry):
    scripted = ScriptedProxy(registry[1])
    yield scripted
    scripted.close()


@pytest.fixture
def node(tmp_path, registry, proxy):
    return make_node(tmp_path / "node", registry[0], proxy.url, KIOSK_REGION="KZ-75", **PLACE)


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


class Clock:
    """The reporter's time: now, moved on by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def forwarder_with(node, clock: Clock) -> Forwarder:
    forwarder = Forwarder(node)
    forwarder.reporter.clock = clock
    return forwarder


def latest(registry) -> reports_store.Report | None:
    with registry[0].app_context():
        return reports_store.latest(registry_db(), "node-test")


def status_of(registry) -> reports_store.NodeStatus:
    with registry[0].app_context():
        [status] = reports_store.overview(registry_db(), datetime.now(UTC))
    return status


def turns_until_idle(forwarder: Forwarder, db, limit: int = 50) -> None:
    """Turn the forwarder until a turn finds nothing due (the end of a delivery run)."""
    for _ in range(limit):
        before = outbox.summary(db)["counts"]
        forwarder._turn(db)
        if outbox.summary(db)["counts"] == before and not outbox.count(db, outbox.QUEUED):
            return
    raise AssertionError(f"the queue did not settle: {outbox.summary(db)}")


def submit_as(node, **answers) -> str:
    with node.test_request_context("/"):
        draft = drafts.create()
        draft.answers = {**flat_answers(), **answers}
        drafts.save(draft)
        return submissions.submit(draft.id, "kk")


def test_after_a_delivery_run_the_registry_shows_the_nodes_counts(node, db, registry, proxy):
    for _ in range(3):
        submit_as(node)
    proxy.script.append(422)  # the first application is refused for good: dead
    turns_until_idle(forwarder_with(node, Clock()), db)

    got = latest(registry)
    assert got is not None
    assert got.outbox == {"queued": 0, "sending": 0, "waiting": 0, "delivered": 2, "dead": 1}
    assert got.oldest_waiting_seconds is None
    assert got.dead_reasons == [('HTTP 422: {"error": "scripted"}', 1)]
    last = db.execute("SELECT MAX(delivered_at) FROM outbox").fetchone()[0]
    assert got.last_delivery_at == datetime.fromisoformat(last)
    assert (got.kiosk_id, got.centre, got.region) == (
        "kiosk-07",
        "Әлеуметтік қызмет орталығы №3",
        "KZ-75",
    )
    assert got.app_version == report.app_version() and got.disk_free_bytes > 0
    assert abs(got.clock_skew_seconds) < 60
    assert status_of(registry).flags == ["dead"]
    assert report.last_tried(db)[1] == "recorded"


def test_a_report_goes_at_the_end_of_a_run_not_after_every_application(node, db, registry, proxy):
    clock = Clock()
    forwarder = forwarder_with(node, clock)
    forwarder._turn(db)  # the first turn of a fresh node reports: nothing is queued
    assert latest(registry).outbox["delivered"] == 0
    for _ in range(3):
        submit_as(node)
    clock.now += timedelta(minutes=1)
    connections = len(proxy.seen)
    forwarder._turn(db)
    forwarder._turn(db)
    forwarder._turn(db)
    assert len(proxy.seen) == connections + 3  # three deliveries, no report between them
    assert latest(registry).outbox["delivered"] == 0
    forwarder._turn(db)  # nothing left: the run is over, and the registry is told
    assert latest(registry).outbox == {
        "queued": 0,
        "sending": 0,
        "waiting": 0,
        "delivered": 3,
        "dead": 0,
    }
    assert latest(registry).clock == clock.now
    forwarder._turn(db)  # idle again: nothing new to tell before the timer
    assert len(proxy.seen) == connections + 4


def test_a_node_reports_every_15_minutes_by_its_clock_across_restarts(node, db, registry, proxy):
    clock = Clock()
    start = clock.now
    forwarder = forwarder_with(node, clock)
    forwarder._turn(db)
    assert latest(registry).clock == start

    clock.now = start + timedelta(minutes=14, seconds=59)
    forwarder._turn(db)
    assert latest(registry).clock == start
    clock.now = start + timedelta(minutes=15)
    forwarder._turn(db)
    assert latest(registry).clock == start + timedelta(minutes=15)

    restarted = forwarder_with(node, clock)  # the time of the last report is in the database
    clock.now = start + timedelta(minutes=29)
    restarted._turn(db)
    assert latest(registry).clock == start + timedelta(minutes=15)
    clock.now = start + timedelta(minutes=30)
    restarted._turn(db)
    assert latest(registry).clock == start + timedelta(minutes=30)

    clock.now = start + timedelta(minutes=10)  # the clock was put back: report, do not wait
    restarted._turn(db)
    assert latest(registry).clock == start + timedelta(minutes=10)


def test_a_report_the_registry_does_not_take_is_tried_next_time_and_holds_up_nothing(
    node, db, registry, proxy
):
    clock = Clock()
    forwarder = forwarder_with(node, clock)
    submit_as(node)
    submit_as(node)
    proxy.script.extend(["pass", 500])  # the first delivery goes; the report after it fails
    forwarder._turn(db)
    assert outbox.count(db, outbox.DELIVERED) == 1
    assert latest(registry) is None
    assert report.last_tried(db)[1] == "HTTP 500: scripted"

    proxy.script.extend(["pass", "hang"])  # a report that never answers waits its timeout
    forwarder._turn(db)  # delivers the second
    assert outbox.count(db, outbox.DELIVERED) == 2
    forwarder._turn(db)  # the run's end: the report is tried and hangs, and the turn goes on
    assert latest(registry) is None
    assert report.last_tried(db)[1] == "network: TimeoutError"
    connections = len(proxy.seen)
    forwarder._turn(db)  # nothing is kept to resend: the next report waits for its time
    assert len(proxy.seen) == connections

    clock.now += timedelta(minutes=15)
    forwarder._turn(db)
    assert latest(registry).outbox["delivered"] == 2
    assert report.last_tried(db)[1] == "recorded"


def test_a_registry_out_of_reach_leaves_the_forwarder_delivering_later(tmp_path, registry):
    node = make_node(tmp_path / "far", registry[0], "http://127.0.0.1:9")  # nothing listens
    database = connect(node.config["DATABASE"])
    try:
        submit_as(node)
        forwarder = forwarder_with(node, Clock())
        forwarder._turn(db=database)
        assert report.last_tried(database)[1].startswith("network: ")
        assert outbox.waiting_count(database) == 1
        node.config["REGISTRY_URL"] = registry[1]
        outbox.revive_dead(database)  # due now
        forwarder._turn(db=database)
        assert outbox.count(database, outbox.DELIVERED) == 1
    finally:
        database.close()


def test_the_report_carries_no_applicant_data(node, db, registry):
    names = {
        "organisation_name": "«Зейнегүл-Тұрсынбек» қоры",
        "contact_name": "Зейнегүл Тұрсынбекова",
        "phone": "+77071112233",
    }
    submitted = submit_as(node, **names)
    waiting = submit_as(node, contact_name="Ақмаржан Бейсенбаева")
    # A registry (or a proxy) that broke its word and quoted what it refused:
    quoted = 'HTTP 422: contact/name "Зейнегүл Тұрсынбекова", iin 880215300125, z@example.kz'
    outbox.give_up(db, submitted, quoted)
    clock = Clock()
    body = report.build(node, db, clock.now)
    forwarder_with(node, clock)._turn(db)  # delivers the waiting one, and reports

    with registry[0].app_context():
        [kept] = registry_db().rows("SELECT report FROM node_reports")
    reference = db.execute("SELECT reference FROM submissions").fetchall()
    for text in (json.dumps(body, ensure_ascii=False), kept["report"]):
        for value in [*names.values(), "Зейнегүл", "Ақмаржан", "880215300125", "z@example.kz"]:
            assert value not in text
        for value in (submitted, waiting, *(row[0] for row in reference)):
            assert value not in text
        assert "7071112233" not in text
    assert body["dead_reasons"] == [
        {"reason": "HTTP 422: contact/name [text] [text] iin [digits], [address]", "count": 1}
    ]
