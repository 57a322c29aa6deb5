"""A code saved on one node goes on on another, through the web pages, via a real registry.

Node A saves through "Save and come back later"; A's forwarder deposits the ciphertext at
the reference registry (served on 127.0.0.1 in a thread); node B, which never saw the
code, resumes it at /resume and lands where A left off, with A's answers; B goes on to
the declaration and submits, and B's forwarder deletes the registry's copy, so a third
node C no longer knows the code. With the registry down, B's resume page says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import escape
from pathlib import Path

import pytest
from flask import Flask

from kiosk import return_codes
from kiosk.db import connect, get_db
from kiosk.outbox.forwarder import Forwarder
from tests.conftest import english_client
from tests.forwarding import make_node, make_registry, registry_rows, served
from tests.helpers import VALID_BIN, answers_for, code_on, post_step, resume, save, submit

FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}
DOWN = "http://127.0.0.1:9"  # nothing listens there
JOURNEY = answers_for("ngo")
BEFORE, (SAVED_ON, SAVED_ANSWERS), REST = JOURNEY[:2], JOURNEY[2], JOURNEY[3:]
ORGANISATION = dict(JOURNEY[1][1])["organisation_name"]
UNKNOWN = "No application is saved with this code"
SENT = "The application saved with this code has been sent, or deleted."
SENT_ELSEWHERE = "This application was sent from another device with its return code"
OFFLINE = "We cannot reach the other kiosks and websites just now."


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The reference registry, served for real: (its app, its URL)."""
    app = make_registry(tmp_path / "registry")
    with served(app) as url:
        yield app, url


def node(tmp_path: Path, registry: tuple[Flask, str], name: str) -> Flask:
    """A web node of its own (own database, own id) registered at the registry."""
    app, url = registry
    return make_node(tmp_path / name, app, url, node_id=f"node-{name}", SAVED_SCRYPT=FAST_SCRYPT)


def forwarder_turn(node_app: Flask) -> None:
    """One turn of the node's forwarder: an application, then a round of deposits."""
    db = connect(node_app.config["DATABASE"])
    try:
        Forwarder(node_app)._turn(db)
    finally:
        db.close()


def kept_at_registry(registry: tuple[Flask, str]) -> set[str]:
    """The lookup ids the registry keeps a saved application under."""
    with registry[0].app_context():
        return {row["lookup_id"] for row in get_db()["saved"].rows}


def save_on(node_app: Flask) -> tuple[str, str]:
    """Answer the first pages, then save on the region page with its answer.

    Returns (the code the saved page shows, the application's submission id).
    """
    client = english_client(node_app)
    for slug, data in BEFORE:
        post_step(client, f"/apply/{slug}", data)
    with client.session_transaction() as session:
        submission_id = session["submission"]
    page = save(client, SAVED_ON, SAVED_ANSWERS)
    assert page.status_code == 200 and "Your application is saved" in page.text
    return code_on(page.text), submission_id


def errors(page: str) -> list[str]:
    """The messages at the fields, as read after the hidden "Error:"."""
    return re.findall(
        r'class="error-message"><span class="visually-hidden">Error:</span> (.*?)</p>', page
    )


def ticked(page: str, name: str, value: str) -> bool:
    pattern = rf'name="{name}" type="radio" value="{re.escape(value)}"\s+checked'
    return re.search(pattern, page) is not None


def assert_shows_what_a_answered(client) -> None:
    """B's pages hold A's answers: the type, the organisation and the region it saved."""
    assert ticked(client.get("/apply/applicant-type").text, "applicant_type", "ngo")
    organisation = client.get("/apply/organisation").text
    assert (
        f'value="{escape(ORGANISATION)}"' in organisation and f'value="{VALID_BIN}"' in organisation
    )
    assert ticked(client.get("/apply/region").text, "region", SAVED_ANSWERS["region"])


def finish_and_submit(client) -> None:
    """The rest of the journey on this node, then the declaration."""
    for slug, data in REST:
        assert post_step(client, f"/apply/{slug}", data).status_code == 302, slug
    assert client.get("/apply/check").status_code == 200
    sent = submit(client)
    assert sent.status_code == 303 and sent.headers["Location"] == "/apply/confirmation"


def test_saved_on_a_resumed_on_b_submitted_there_and_then_sent_on_a_and_c(tmp_path, registry):
    a, b, c = (node(tmp_path, registry, name) for name in ("a", "b", "c"))
    code, submission_id = save_on(a)
    forwarder_turn(a)  # A's forwarder deposits the ciphertext
    assert kept_at_registry(registry) == {return_codes.lookup_id(code)}

    on_b = english_client(b)
    landed = resume(on_b, code)
    assert landed.status_code == 303 and landed.headers["Location"] == "/apply/contact"
    assert_shows_what_a_answered(on_b)
    finish_and_submit(on_b)
    forwarder_turn(b)  # B delivers the application, then deposits the deletion

    assert kept_at_registry(registry) == set()
    [delivered] = registry_rows(registry[0])
    assert delivered["node_id"] == "node-b" and delivered["submission_id"] == submission_id
    payload = json.loads(delivered["payload"])
    assert payload["applicant"]["organisation_name"] == ORGANISATION  # typed on A, sent by B
    assert payload["applicant"]["bin"] == VALID_BIN and payload["region"] == "KZ-75"
    on_c = resume(english_client(c), code)
    assert on_c.status_code == 200 and any(SENT in error for error in errors(on_c.text))
    # A still has its own, older copy, and the registry's "deleted" outweighs it: opening
    # it would send the same application a second time.
    on_a = resume(english_client(a), code)
    assert on_a.status_code == 200 and any(SENT in error for error in errors(on_a.text))
    a_db = connect(a.config["DATABASE"])
    assert a_db["drafts"].count == 0  # nothing was opened
    assert a_db["saved"].count == 1  # and A's copy is kept: the registry's word drops nothing
    a_db.close()


def test_a_draft_still_open_on_a_ends_when_b_sends_it(tmp_path, registry):
    a, b = node(tmp_path, registry, "a"), node(tmp_path, registry, "b")
    a.config["CLAIM_CHECK_SECONDS"] = 0
    code, _submission_id = save_on(a)
    forwarder_turn(a)
    on_a = english_client(a)
    assert resume(on_a, code).headers["Location"] == "/apply/contact"  # open on A

    on_b = english_client(b)
    resume(on_b, code)
    finish_and_submit(on_b)
    forwarder_turn(b)  # delivered from B, and the deletion deposited

    page = on_a.get("/apply/contact", follow_redirects=True)
    assert SENT_ELSEWHERE in page.text
    assert connect(a.config["DATABASE"])["drafts"].count == 0


def test_a_stale_draft_sent_from_a_while_offline_reaches_the_registry_once(tmp_path, registry):
    """The last guard: the registry takes one submission id once, from whichever node."""
    a, b = node(tmp_path, registry, "a"), node(tmp_path, registry, "b")
    code, submission_id = save_on(a)
    forwarder_turn(a)
    on_a = english_client(a)
    resume(on_a, code)
    on_b = english_client(b)
    resume(on_b, code)
    finish_and_submit(on_b)
    forwarder_turn(b)

    a.config["REGISTRY_URL"] = DOWN  # A cannot hear of it: its draft lives on
    finish_and_submit(on_a)
    a.config["REGISTRY_URL"] = registry[1]
    forwarder_turn(a)

    [delivered] = registry_rows(registry[0])
    assert delivered["node_id"] == "node-b" and delivered["submission_id"] == submission_id
    a_db = connect(a.config["DATABASE"])
    [item] = a_db.execute("SELECT status, last_error FROM outbox").fetchall()
    a_db.close()
    assert item[0] == "dead" and "received before from another node" in item[1]


def test_with_the_registry_down_the_resume_page_says_so_and_keeps_the_code(tmp_path, registry):
    a, b = node(tmp_path, registry, "a"), node(tmp_path, registry, "b")
    code, _submission_id = save_on(a)
    forwarder_turn(a)
    b.config["REGISTRY_URL"] = DOWN  # B's network goes down
    response = resume(english_client(b), code)
    assert response.status_code == 200
    assert any(OFFLINE in error for error in errors(response.text)), errors(response.text)
    assert UNKNOWN not in response.text
    assert f'value="{code}"' in response.text
    b.config["REGISTRY_URL"] = registry[1]  # and back: the same code opens
    assert resume(english_client(b), code).headers["Location"] == "/apply/contact"
