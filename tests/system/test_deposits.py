"""Saved applications travel between nodes through the registry (kiosk/deposits.py).

A node deposits what it saves, a node without a copy fetches it, and a submit or a
"forget" deletes it everywhere, against a real reference registry served in a
thread, with the network misbehaving on cue (tests.forwarding.ScriptedProxy).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest
from flask import request

from kiosk import deposits, drafts, outbox, return_codes, saved, submissions
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, registry_of
from kiosk.registry.database import get_db as registry_db
from tests.forwarding import (
    ScriptedProxy,
    flat_answers,
    make_node,
    make_registry,
    queue_applications,
    registry_rows,
    served,
)

FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}
DOWN = "http://127.0.0.1:9"  # nothing listens there


@pytest.fixture
def registry(tmp_path):
    """(the registry app, its URL, the (method, lookup id) of every saved request it got)."""
    app = make_registry(tmp_path / "registry")
    seen: list[tuple[str, str]] = []

    @app.after_request
    def _record(response):
        if request.path.startswith("/api/v1/saved/"):
            seen.append((request.method, request.path.rsplit("/", 1)[1]))
        return response

    with served(app) as url:
        yield app, url, seen


@pytest.fixture
def proxy(registry):
    scripted = ScriptedProxy(registry[1])
    yield scripted
    scripted.close()


def node_at(folder, registry, url: str, node_id: str = "node-test", **config):
    return make_node(folder, registry[0], url, node_id=node_id, SAVED_SCRYPT=FAST_SCRYPT, **config)


@pytest.fixture
def node(tmp_path, registry, proxy):
    return node_at(tmp_path / "node", registry, proxy.url)


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


def save_one(node_app, answers: dict | None = None) -> tuple[str, drafts.Draft]:
    """Save a new draft with these answers on this node; (its code, the draft as saved)."""
    with node_app.test_request_context("/"):
        draft = drafts.create()
        draft.answers = answers or {"applicant_type": "individual", "full_name": "Әлия"}
        drafts.save(draft)
        code, _until = saved.save(draft, "kk")
    return code, draft


def send(node_app, db) -> int:
    return deposits.send_due(db, registry_of(node_app), timeout=node_app.config["SEND_TIMEOUT"])


def fetch(node_app, code: str):
    with node_app.app_context():
        return deposits.fetch(return_codes.lookup_id(code))


def queued(db) -> list[dict]:
    return list(db["deposits"].rows)


def kept_at_registry(registry) -> dict[str, dict]:
    with registry[0].app_context():
        return {row["lookup_id"]: row for row in registry_db().rows("SELECT * FROM saved")}


def make_due(db) -> None:
    """The backoff has passed, as it would in time."""
    db.execute("UPDATE deposits SET next_attempt_at = queued_at")


# Sending -------------------------------------------------------------------------------


def test_a_saved_application_is_deposited_byte_for_byte_and_leaves_the_queue(node, db, registry):
    code, _draft = save_one(node)
    [row] = queued(db)
    assert row["action"] == "put"
    assert send(node, db) == 1
    assert queued(db) == []
    kept = kept_at_registry(registry)[return_codes.lookup_id(code)]
    assert kept["blob"] == row["blob"] and kept["node_id"] == "node-test"


def test_deposits_go_oldest_first(node, db, registry):
    codes = [save_one(node)[0] for _ in range(3)]
    assert send(node, db) == 3
    assert registry[2] == [("PUT", return_codes.lookup_id(code)) for code in codes]


def test_registry_down_keeps_the_deposit_and_a_later_send_delivers_it(tmp_path, registry):
    node = node_at(tmp_path / "node", registry, DOWN, BACKOFF_BASE=30, BACKOFF_CAP=60)
    db = connect(node.config["DATABASE"])
    code, _draft = save_one(node)  # saving works offline
    assert send(node, db) == 0
    [row] = queued(db)
    assert row["attempts"] == 1 and row["last_error"].startswith("network: ")
    assert row["next_attempt_at"] > datetime.now(UTC).isoformat()
    assert send(node, db) == 0  # not due yet: no second try at once
    assert queued(db)[0]["attempts"] == 1
    node.config["REGISTRY_URL"] = registry[1]  # the network comes back...
    make_due(db)  # ...when the retry falls due
    assert send(node, db) == 1
    assert queued(db) == []
    assert return_codes.lookup_id(code) in kept_at_registry(registry)
    db.close()


@pytest.mark.parametrize("fault", [500, 503, 429, 408, 401, 403, 302, "reset", "hang", "portal"])
def test_passing_trouble_is_retried_and_ends_the_round(node, db, registry, proxy, fault):
    first, _ = save_one(node)
    second, _ = save_one(node)
    proxy.script.append(fault)
    assert send(node, db) == 0
    rows = {row["lookup_id"]: row for row in queued(db)}
    assert rows[return_codes.lookup_id(first)]["attempts"] == 1
    assert rows[return_codes.lookup_id(first)]["last_error"]
    assert rows[return_codes.lookup_id(second)]["attempts"] == 0  # not tried: the same trouble
    assert kept_at_registry(registry) == {}
    make_due(db)
    assert send(node, db) == 2
    assert set(kept_at_registry(registry)) == {return_codes.lookup_id(c) for c in (first, second)}


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_deposit_refused_for_good_is_dropped_and_logged_by_its_prefix(
    node, db, registry, proxy, status, caplog
):
    code, _ = save_one(node)
    other, _ = save_one(node)
    proxy.script.append(status)
    with caplog.at_level(logging.WARNING, logger="kiosk.deposits"):
        assert send(node, db) == 2  # the next one still goes
    assert queued(db) == []
    lookup = return_codes.lookup_id(code)
    assert set(kept_at_registry(registry)) == {return_codes.lookup_id(other)}
    [line] = [r.getMessage() for r in caplog.records if r.name == "kiosk.deposits"]
    assert lookup[:8] in line and f"HTTP {status}" in line and lookup not in line


def test_the_registry_itself_refusing_a_deposit_drops_it(node, db, registry, caplog):
    db.execute(
        "INSERT INTO deposits (lookup_id, action, blob, attempts, queued_at, next_attempt_at)"
        " VALUES (?, 'put', ?, 0, '2000-01-01', '2000-01-01')",
        ["ab" * 32, json.dumps({"format": 1})],
    )
    assert send(node, db) == 1
    assert queued(db) == [] and kept_at_registry(registry) == {}
    assert any(
        "abababab" in r.getMessage() and "HTTP 422" in r.getMessage() for r in caplog.records
    )


def test_a_put_then_a_delete_before_sending_sends_only_the_delete(node, db, registry):
    code, _ = save_one(node)
    with node.test_request_context("/"):
        saved.forget(code)
    assert send(node, db) == 1
    assert registry[2] == [("DELETE", return_codes.lookup_id(code))]
    assert queued(db) == [] and kept_at_registry(registry) == {}


def test_a_delete_the_registry_answers_404_to_is_done_but_a_put_is_not(node, db, proxy):
    code, _ = save_one(node)
    proxy.script.append(404)
    assert send(node, db) == 0  # a PUT answered 404: not the registry we know; again later
    with node.test_request_context("/"):
        saved.forget(code)
    proxy.script.append(404)
    assert send(node, db) == 1
    assert queued(db) == []


def test_a_put_of_a_code_sent_from_another_node_is_dropped(node, db, registry, caplog):
    """A stale draft saved again after its application was sent: the registry says 410."""
    code, _ = save_one(node)
    send(node, db)
    lookup = return_codes.lookup_id(code)
    blob = json.loads(db.execute("SELECT blob FROM saved").fetchone()[0])
    with node.test_request_context("/"):
        saved.forget(code)  # sent: the registry keeps the word "deleted"
    send(node, db)
    deposits.queue_put(db, lookup, blob)
    with caplog.at_level(logging.WARNING, logger="kiosk.deposits"):
        assert send(node, db) == 1
    assert queued(db) == [] and kept_at_registry(registry) == {}
    assert any("sent from another node" in r.getMessage() for r in caplog.records)


def test_a_newer_action_queued_while_one_is_being_sent_still_goes(node, db, registry, monkeypatch):
    code, draft = save_one(node)
    lookup = return_codes.lookup_id(code)
    real_send = deposits._send

    def send_while_the_applicant_submits(registry_, deposit, timeout):
        answer = real_send(registry_, deposit, timeout)
        with node.test_request_context("/"):
            saved.forget(code)  # committed while the PUT was on its way
        return answer

    monkeypatch.setattr(deposits, "_send", send_while_the_applicant_submits)
    assert send(node, db) == 1
    assert [row["action"] for row in queued(db)] == ["delete"]
    monkeypatch.setattr(deposits, "_send", real_send)
    assert send(node, db) == 1
    assert registry[2] == [("PUT", lookup), ("DELETE", lookup)]
    assert kept_at_registry(registry) == {}


def test_a_round_ends_within_its_timeout_and_the_rest_goes_later(node, db, proxy):
    for _ in range(5):
        save_one(node)
    proxy.script.extend(["slow"] * 5)  # 0.2 s each, against a 0.5 s round
    started = time.monotonic()
    sent = send(node, db)
    assert time.monotonic() - started < node.config["SEND_TIMEOUT"] + 0.2
    assert 1 <= sent < 5
    for _ in range(5):  # the next rounds take the rest
        make_due(db)
        send(node, db)
    assert queued(db) == []


# The forwarder -------------------------------------------------------------------------


def test_the_forwarder_sends_deposits_after_applications_in_its_own_loop(node, db, registry):
    [submission_id] = queue_applications(node, 1)
    code, _ = save_one(node)
    forwarder = Forwarder(node)
    thread = threading.Thread(target=forwarder.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while queued(db) or not registry_rows(registry[0]):
        assert time.monotonic() < deadline, "the forwarder did not send both"
        time.sleep(0.02)
    forwarder.stop.set()
    thread.join(5)
    assert [row["submission_id"] for row in registry_rows(registry[0])] == [submission_id]
    assert return_codes.lookup_id(code) in kept_at_registry(registry)


def test_a_paused_queue_holds_the_deposits_too(node, db, registry):
    save_one(node)
    outbox.pause(db, "HTTP 401: unknown token")
    forwarder = Forwarder(node)
    forwarder._turn(db)
    assert len(queued(db)) == 1 and registry[2] == []
    forwarder._turn(db)  # the next turn tries the credentials again (they may be fixed)
    assert queued(db) == [] and outbox.paused(db) is None


def test_a_deposit_failing_never_stops_an_application(node, db, registry, monkeypatch, caplog):
    [submission_id] = queue_applications(node, 1)
    save_one(node)

    def broken(*_args, **_kwargs):
        raise sqlite3.OperationalError("database is locked near 'R7K3-M9QX'")

    monkeypatch.setattr(deposits, "send_due", broken)
    Forwarder(node)._turn(db)
    assert [row["submission_id"] for row in registry_rows(registry[0])] == [submission_id]
    logged = [r.getMessage() for r in caplog.records if r.name == "kiosk.outbox.forwarder"]
    assert any("OperationalError" in line for line in logged)
    assert not any("R7K3" in line for line in logged)


# Fetching ------------------------------------------------------------------------------


def test_fetch_gives_the_deposited_blob(node, db):
    code, _ = save_one(node)
    send(node, db)
    with node.test_request_context("/"):
        assert fetch(node, code) == saved.find(code)


def test_fetch_of_an_unknown_code_is_none(node):
    assert fetch(node, return_codes.new_code()) is None


def test_fetch_of_an_expired_one_says_so_once(node, db, registry):
    code, _ = save_one(node)
    send(node, db)
    with registry[0].app_context():
        registry_db().execute("UPDATE saved SET expires_at = '2000-01-01T00:00:00.000000+00:00'")
    with pytest.raises(deposits.Expired):
        fetch(node, code)
    assert fetch(node, code) is None


def test_fetch_with_the_registry_down_is_unreachable(tmp_path, registry):
    node = node_at(tmp_path / "node", registry, DOWN)
    with pytest.raises(deposits.Unreachable):
        fetch(node, return_codes.new_code())


@pytest.mark.parametrize("fault", [500, 503, 429, 401, 403, 302, "reset", "hang", "portal"])
def test_fetch_through_passing_trouble_is_unreachable(node, db, proxy, fault):
    code, _ = save_one(node)
    send(node, db)
    proxy.script.append(fault)
    with pytest.raises(deposits.Unreachable):
        fetch(node, code)
    assert fetch(node, code) is not None  # the trouble passed


def canned(status: str, body: bytes, content_type: str = "text/html", **headers):
    """A WSGI app that answers every request the same: a portal, a proxy, a broken server."""

    def app(_environ, start_response):
        start_response(status, [("Content-Type", content_type), *headers.items()])
        return [body]

    return app


PORTAL = b"<html><body>Please log in to the Wi-Fi</body></html>"
NOT_A_BLOB = json.dumps({"format": 1, "kdf": "scrypt"}).encode()


@pytest.mark.parametrize(
    "answer",
    [
        canned("200 OK", PORTAL),
        canned("404 Not Found", PORTAL),  # a proxy's page, not the registry's "not found"
        canned("410 Gone", b"gone"),
        canned("200 OK", NOT_A_BLOB, "application/json"),
        canned("200 OK", b"[]", "application/json"),
        canned("200 OK", b'{"ciphertext": "' + b"A" * 70_000 + b'"}', "application/json"),
        canned("302 Found", PORTAL, Location="http://127.0.0.1:9/login"),
    ],
    ids=["portal", "404 page", "410 text", "not a blob", "a list", "too long", "redirect"],
)
def test_fetch_of_an_answer_that_is_not_the_registrys_is_unreachable(tmp_path, registry, answer):
    with served(answer) as url:
        node = node_at(tmp_path / "node", registry, url)
        with pytest.raises(deposits.Unreachable):
            fetch(node, return_codes.new_code())


def test_fetch_waits_at_most_its_own_short_timeout(tmp_path, registry, monkeypatch):
    def hanging(_environ, start_response):
        time.sleep(1)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    monkeypatch.setattr(deposits, "FETCH_TIMEOUT", 0.3)
    with served(hanging) as url:
        node = node_at(tmp_path / "node", registry, url, SEND_TIMEOUT=30)
        started = time.monotonic()
        with pytest.raises(deposits.Unreachable):
            fetch(node, return_codes.new_code())
        assert time.monotonic() - started < 2


def test_fetch_when_the_registry_limits_this_node_is_unreachable_not_unknown(tmp_path):
    registry_app = make_registry(tmp_path / "registry")
    registry_app.config["LIMIT_SAVED_MISSES"] = "2 per 15 minutes"
    with served(registry_app) as url:
        node = make_node(tmp_path / "node", registry_app, url)
        assert fetch(node, return_codes.new_code()) is None
        assert fetch(node, return_codes.new_code()) is None
        with pytest.raises(deposits.Unreachable):
            fetch(node, return_codes.new_code())


# Across nodes --------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["submit", "forget"])
def test_a_code_saved_on_one_node_resumes_on_another_and_ends_everywhere(
    tmp_path, registry, ending
):
    a = node_at(tmp_path / "a", registry, registry[1], node_id="node-a")
    b = node_at(tmp_path / "b", registry, registry[1], node_id="node-b")
    a_db, b_db = connect(a.config["DATABASE"]), connect(b.config["DATABASE"])
    code, draft = save_one(a, flat_answers())
    forwarder = Forwarder(a)
    forwarder._turn(a_db)  # A's forwarder deposits it
    assert queued(a_db) == []

    with b.test_request_context("/"):
        assert saved.find(code) is None  # B never saw this code
        blob = deposits.fetch(return_codes.lookup_id(code))
        resumed, content = saved.resume(code, blob)
        assert resumed.answers == draft.answers
        assert resumed.submission_id == draft.submission_id == content.submission_id
        if ending == "submit":
            assert submissions.submit(resumed.id, "kk") == draft.submission_id
        else:
            saved.forget(code)
    assert send(b, b_db) == 1
    assert kept_at_registry(registry) == {}
    with pytest.raises(deposits.Deleted):  # not "unknown": A's own copy must stay shut
        fetch(a, code)
    a_db.close()
    b_db.close()


def test_offline_a_code_saves_and_travels_once_the_registry_is_back(tmp_path, registry):
    a = node_at(tmp_path / "a", registry, DOWN, node_id="node-a")
    b = node_at(tmp_path / "b", registry, DOWN, node_id="node-b")
    a_db = connect(a.config["DATABASE"])
    code, draft = save_one(a)
    with pytest.raises(deposits.Unreachable):
        fetch(b, code)
    assert send(a, a_db) == 0 and len(queued(a_db)) == 1  # kept for later
    a.config["REGISTRY_URL"] = b.config["REGISTRY_URL"] = registry[1]
    make_due(a_db)
    assert send(a, a_db) == 1
    with b.test_request_context("/"):
        resumed, _content = saved.resume(code, deposits.fetch(return_codes.lookup_id(code)))
        assert resumed.answers == draft.answers
    a_db.close()


def test_a_resume_elsewhere_then_a_save_replaces_the_registrys_copy(tmp_path, registry):
    a = node_at(tmp_path / "a", registry, registry[1], node_id="node-a")
    b = node_at(tmp_path / "b", registry, registry[1], node_id="node-b")
    a_db, b_db = connect(a.config["DATABASE"]), connect(b.config["DATABASE"])
    code, _draft = save_one(a)
    send(a, a_db)
    with b.test_request_context("/"):
        resumed, _ = saved.resume(code, deposits.fetch(return_codes.lookup_id(code)))
        resumed.answers["full_name"] = "Бекзат"
        drafts.save(resumed)
        again, _until = saved.save(drafts.load(resumed.id), "kk")
        assert again == code
    send(b, b_db)
    with a.test_request_context("/"):
        newer = deposits.fetch(return_codes.lookup_id(code))
        assert saved.open_blob(code, newer).answers["full_name"] == "Бекзат"
    assert kept_at_registry(registry)[return_codes.lookup_id(code)]["node_id"] == "node-b"
    a_db.close()
    b_db.close()


def test_the_registry_keeps_ciphertext_only(node, db, registry):
    code, _ = save_one(node, {"applicant_type": "individual", "full_name": "Әлия Сәрсенова"})
    send(node, db)
    [kept] = kept_at_registry(registry).values()
    for secret in ("Әлия", "\\u04d8", code, code.replace("-", "")):
        assert secret not in kept["blob"], secret
    assert saved.open_blob(code, json.loads(kept["blob"])).answers["full_name"] == "Әлия Сәрсенова"
