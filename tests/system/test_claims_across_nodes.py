"""One live draft per return code across nodes: claims at a real registry (kiosk/claims.py).

Node A saves and deposits; client 1 resumes on A, client 2 on node B. A's next journey
page for client 1 asks the registry, sees B's newer claim, and ends the draft with the
same notice as on one node. A registry that is down, or answers nonsense, never does.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask, request

from kiosk import deposits, return_codes
from kiosk.db import connect
from kiosk.outbox.forwarder import registry_of
from tests.conftest import english_client
from tests.forwarding import ScriptedProxy, make_node, make_registry, served
from tests.helpers import VALID_IIN, code_on, post_step, resume, save

FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}
DOWN = "http://127.0.0.1:9"  # nothing listens there
NAME = "Әлия Нұрланқызы Сәрсенова"
OTHER_DEVICE = "This application was opened with its return code on another device"


@pytest.fixture
def registry(tmp_path):
    """(the registry app, its URL, the method of every claim request it answered)."""
    app = make_registry(tmp_path / "registry")
    claims: list[str] = []

    @app.after_request
    def _record(response):
        if request.path.endswith("/claim"):
            claims.append(request.method)
        return response

    with served(app) as url:
        yield app, url, claims


@pytest.fixture
def proxy(registry):
    scripted = ScriptedProxy(registry[1])
    yield scripted
    scripted.close()


def node_at(tmp_path, registry, url: str, node_id: str, **config):
    folder = tmp_path / node_id
    return make_node(folder, registry[0], url, node_id=node_id, SAVED_SCRYPT=FAST_SCRYPT, **config)


@pytest.fixture
def node_a(tmp_path, registry, proxy):
    """Node A, through the scripted proxy, checking claims at every page."""
    return node_at(tmp_path, registry, proxy.url, "node-a", CLAIM_CHECK_SECONDS=0)


@pytest.fixture
def node_b(tmp_path, registry):
    return node_at(tmp_path, registry, registry[1], "node-b")


def drafts_of(node) -> list[dict]:
    db = connect(node.config["DATABASE"])
    try:
        return list(db["drafts"].rows)
    finally:
        db.close()


def saved_and_deposited(node) -> str:
    """An application saved on this node and sent to the registry; its code."""
    client = english_client(node)
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    post_step(client, "/apply/person", {"full_name": NAME, "iin": VALID_IIN})
    code = code_on(save(client, "region").text)
    db = connect(node.config["DATABASE"])
    try:
        assert deposits.send_due(db, registry_of(node), timeout=node.config["SEND_TIMEOUT"]) == 1
    finally:
        db.close()
    return code


def deposits_row(registry, code: str) -> dict:
    db = connect(registry[0].config["DATABASE"])
    try:
        return db["saved"].get(return_codes.lookup_id(code))
    finally:
        db.close()


def opened_on_a_then_b(node_a, node_b, registry):
    """Client 1 resumes on A, client 2 on B; (client 1, client 2, the code)."""
    code = saved_and_deposited(node_a)
    first, second = english_client(node_a), english_client(node_b)
    assert resume(first, code).status_code == 303
    [draft] = drafts_of(node_a)
    assert draft["claim"] and draft["claim"] == deposits_row(registry, code)["claim"]
    assert resume(second, code).status_code == 303
    [b_draft] = drafts_of(node_b)
    assert b_draft["claim"] == deposits_row(registry, code)["claim"] != draft["claim"]
    return first, second, code


def carries_on(client) -> bool:
    page = client.get("/apply/person", follow_redirects=True).text
    return NAME in page and OTHER_DEVICE not in page


def told_and_ended(client, node) -> bool:
    page = client.get("/apply/person", follow_redirects=True).text
    return OTHER_DEVICE in page and NAME not in page and drafts_of(node) == []


# The gap closed ------------------------------------------------------------------------


def test_a_resume_on_another_node_ends_the_first_and_that_browser_is_told(node_a, node_b, registry):
    first, second, _code = opened_on_a_then_b(node_a, node_b, registry)
    assert told_and_ended(first, node_a)
    assert OTHER_DEVICE not in first.get("/apply/person", follow_redirects=True).text  # once
    assert NAME in second.get("/apply/person").text  # B's draft goes on
    assert len(drafts_of(node_b)) == 1


def test_the_registry_is_asked_at_most_every_n_seconds_and_only_on_journey_pages(
    tmp_path, registry, node_b
):
    node_a = node_at(tmp_path, registry, registry[1], "node-a", CLAIM_CHECK_SECONDS=15)
    first, _second, _code = opened_on_a_then_b(node_a, node_b, registry)
    asked = registry[2].count("GET")
    assert carries_on(first)  # checked at the resume, under 15 s ago: not asked again
    first.get("/")  # the start page does not use the draft
    assert registry[2].count("GET") == asked
    db = connect(node_a.config["DATABASE"])
    db.execute("UPDATE drafts SET claim_checked_at = claim_checked_at - 16")  # time passes
    db.close()
    assert told_and_ended(first, node_a)
    assert registry[2].count("GET") == asked + 1


# Offline and odd answers: carry on ------------------------------------------------------


def test_with_the_registry_down_the_first_carries_on(node_a, node_b, registry):
    first, _second, _code = opened_on_a_then_b(node_a, node_b, registry)
    node_a.config["REGISTRY_URL"] = DOWN
    assert carries_on(first)
    assert carries_on(first)
    assert len(drafts_of(node_a)) == 1
    node_a.config["REGISTRY_URL"] = registry[1]  # back: the newer claim is seen now
    assert told_and_ended(first, node_a)


@pytest.mark.parametrize("fault", ["portal", "hang", "reset", 500, 429, 404, 401])
def test_passing_trouble_between_a_and_the_registry_carries_on(
    node_a, node_b, registry, proxy, fault
):
    first, _second, _code = opened_on_a_then_b(node_a, node_b, registry)
    proxy.script.append(fault)
    assert carries_on(first)
    assert told_and_ended(first, node_a)  # the next one passes


GARBAGE = {
    "a number": b'{"claim": 1234567890123456789}',
    "too short": b'{"claim": "abc"}',
    "hostile": b'{"claim": "\\u202e<script>alert(1)</script>\\u0000aaaaaaaaaaaa"}',
    "a list": b'["' + b"a" * 20 + b'"]',
    "no claim": b'{"error": "not found"}',
    "not json": b"<html>Please log in</html>",
    "not utf-8": b'{"claim": "\xff\xfe' + b"a" * 20 + b'"}',
    "huge": b'{"claim": "' + b"a" * 100_000 + b'"}',
}


@pytest.fixture
def liar():
    """A server that answers every claim question 200 with the body it is told to."""
    app = Flask("liar")
    app.config["BODY"] = b"{}"

    @app.route("/api/v1/saved/<lookup>/claim", methods=["GET", "PUT"])
    def _claim(lookup):
        return app.response_class(app.config["BODY"], mimetype="application/json")

    with served(app) as url:
        yield app, url


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_garbage_answer_carries_on(node_a, node_b, registry, liar, body):
    first, _second, _code = opened_on_a_then_b(node_a, node_b, registry)
    liar[0].config["BODY"] = body
    node_a.config["REGISTRY_URL"] = liar[1]
    assert carries_on(first)
    assert len(drafts_of(node_a)) == 1
    node_a.config["REGISTRY_URL"] = registry[1]
    assert told_and_ended(first, node_a)


def test_the_same_claim_answered_carries_on(node_a, node_b, registry):
    """Only another node's newer claim ends a draft: A's own, answered back, does not."""
    code = saved_and_deposited(node_a)
    first = english_client(node_a)
    resume(first, code)
    for _ in range(3):
        assert carries_on(first)
    assert registry[2].count("GET") >= 3


def test_a_resume_while_the_registry_is_down_makes_no_claim_and_carries_on(
    node_a, node_b, registry
):
    code = saved_and_deposited(node_a)
    node_a.config["REGISTRY_URL"] = DOWN
    first = english_client(node_a)
    assert resume(first, code).status_code == 303  # from A's own copy, never an error page
    [draft] = drafts_of(node_a)
    assert draft["claim"] is None
    node_a.config["REGISTRY_URL"] = registry[1]
    resume(english_client(node_b), code)  # B claims; A's draft has no claim to compare
    assert carries_on(first)


def test_a_hanging_registry_holds_a_page_at_most_the_short_timeout(
    tmp_path, node_b, registry, monkeypatch
):
    node_a = node_at(
        tmp_path, registry, registry[1], "node-a", CLAIM_CHECK_SECONDS=0, SEND_TIMEOUT=30
    )
    first, _second, _code = opened_on_a_then_b(node_a, node_b, registry)

    def hanging(_environ, start_response):
        time.sleep(1.5)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    monkeypatch.setattr(deposits, "QUICK_TIMEOUT", 0.3)
    with served(hanging) as url:
        node_a.config["REGISTRY_URL"] = url
        started = time.monotonic()
        assert carries_on(first)
        assert time.monotonic() - started < 1.2
