"""Which copy a resume opens: this node's own, or the registry's (saving._look_up).

A code may have two copies: the one saved on this node, and the registry's, which may
be newer (resumed and saved again on another node since). The rules, each tested
through the resume page:

(a) a copy saved here and still waiting to be deposited is the newest: used, and the
    registry not even asked;
(b) with nothing waiting to be deposited, the registry's copy wins (a real registry,
    and a save on another node in between);
(c) the registry has none (404): this node's copy is used, and kept;
(d) the registry cannot be reached: this node's copy is used;
(e) the registry says the code's application was deleted (sent from another node): this
    node's copy is not opened, since that would send the application twice, but kept;
and a copy here past its date does not hide a newer one the registry holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from flask import Flask

from kiosk import deposits, return_codes, saved
from kiosk.db import connect, get_db
from kiosk.outbox.transport import registry_of
from tests.conftest import english_client
from tests.forwarding import make_node, make_registry, served
from tests.helpers import VALID_BIN, code_on, post_step, resume, save

FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}
HERE = "«Қамқор» қоғамдық қоры"  # the organisation as saved on this node
ELSEWHERE = "«Үміт» қоры"  # as changed on another node, or held by the registry
EXPIRED = "The application saved with this code is no longer kept"


@pytest.fixture
def node(make_app) -> Flask:
    return make_app(SAVED_SCRYPT=FAST_SCRYPT)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The reference registry, served for real: (its app, its URL)."""
    app = make_registry(tmp_path / "registry")
    with served(app) as url:
        yield app, url


def node_at(tmp_path: Path, registry: tuple[Flask, str], name: str) -> Flask:
    app, url = registry
    return make_node(tmp_path / name, app, url, node_id=f"node-{name}", SAVED_SCRYPT=FAST_SCRYPT)


def save_organisation(node_app: Flask, name: str = HERE) -> str:
    """Save through the web page, on the organisation page with this name; the code shown."""
    client = english_client(node_app)
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = save(client, "organisation", {"organisation_name": name, "bin": VALID_BIN})
    return code_on(page.text)


def organisation_after_resume(node_app: Flask, code: str) -> str:
    """Resume in a fresh browser; the organisation name the resumed application holds."""
    client = english_client(node_app)
    landed = resume(client, code)
    assert landed.status_code == 303 and landed.headers["Location"] == "/apply/region"
    page = client.get("/apply/organisation").text
    match = re.search(r'name="organisation_name" type="text" value="([^"]*)"', page)
    assert match, "no organisation name on the page"
    return match.group(1)


def registry_blob(node_app: Flask, code: str, name: str) -> dict:
    """A copy the registry might hold for this code: the same code, another answer."""
    with node_app.test_request_context("/"):
        local = saved.open_blob(code, saved.find(code))
        local.answers["organisation_name"] = name
        until = datetime.now(UTC) + timedelta(days=10)
        return saved.seal(code, local, until.isoformat())


def rows(node_app: Flask, table: str) -> list[dict]:
    db = connect(node_app.config["DATABASE"])
    try:
        return list(db[table].rows)
    finally:
        db.close()


def as_if_deposited(node_app: Flask) -> None:
    """The forwarder has sent every deposit: nothing waits for the registry any more."""
    db = connect(node_app.config["DATABASE"])
    try:
        db.execute("DELETE FROM deposits")
        db.conn.commit()
    finally:
        db.close()


def deposit(node_app: Flask) -> None:
    """Send this node's deposits to the real registry, and check they all went."""
    db = connect(node_app.config["DATABASE"])
    try:
        registry = registry_of(node_app)
        deposits.send_due(db, registry, timeout=node_app.config["SEND_TIMEOUT"])
        assert db["deposits"].count == 0
    finally:
        db.close()


class Registry:
    """deposits.fetch replaced: records each question, then answers as told."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.asked: list[tuple[str, bool]] = []

    def __call__(self, lookup: str, quick: bool = False):
        self.asked.append((lookup, quick))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


# (a) waiting to be deposited ------------------------------------------------------------


def test_a_copy_still_waiting_to_be_deposited_is_used_without_asking(node, monkeypatch):
    code = save_organisation(node)
    older = Registry(registry_blob(node, code, ELSEWHERE))  # an earlier save's copy
    monkeypatch.setattr(deposits, "fetch", older)
    assert organisation_after_resume(node, code) == escape(HERE)
    assert older.asked == []
    assert [row["action"] for row in rows(node, "deposits")] == ["put"]  # still to go


# (b) the registry's newer copy -----------------------------------------------------------


def test_with_nothing_to_deposit_the_registrys_newer_copy_wins(tmp_path, registry):
    a, b = node_at(tmp_path, registry, "a"), node_at(tmp_path, registry, "b")
    code = save_organisation(a)
    deposit(a)
    on_b = english_client(b)
    resume(on_b, code)
    again = save(on_b, "organisation", {"organisation_name": ELSEWHERE, "bin": VALID_BIN})
    assert code_on(again.text) == code  # saved again on B, under the same code
    deposit(b)
    assert len(rows(a, "saved")) == 1 and rows(a, "deposits") == []  # A's own, older copy
    assert organisation_after_resume(a, code) == escape(ELSEWHERE)


# (c) the registry has none ------------------------------------------------------------


def test_when_the_registry_has_none_this_nodes_copy_is_used_and_kept(node, monkeypatch):
    code = save_organisation(node)
    as_if_deposited(node)
    kept = rows(node, "saved")
    none = Registry(None)
    monkeypatch.setattr(deposits, "fetch", none)
    assert organisation_after_resume(node, code) == escape(HERE)
    assert none.asked == [(return_codes.lookup_id(code), True)]  # quick: a copy to fall back on
    assert [row["blob"] for row in rows(node, "saved")] == [row["blob"] for row in kept]
    assert organisation_after_resume(node, code) == escape(HERE)  # and again: still here


# (d) the registry cannot be reached -----------------------------------------------------


def test_when_the_registry_cannot_be_reached_this_nodes_copy_is_used(node, monkeypatch):
    code = save_organisation(node)
    as_if_deposited(node)
    offline = Registry(deposits.Unreachable("network: ConnectionRefusedError"))
    monkeypatch.setattr(deposits, "fetch", offline)
    assert organisation_after_resume(node, code) == escape(HERE)
    assert offline.asked == [(return_codes.lookup_id(code), True)]
    assert len(rows(node, "saved")) == 1


# (e) the registry says it was sent ------------------------------------------------------


def test_when_the_registry_says_deleted_this_nodes_copy_stays_shut_and_kept(node, monkeypatch):
    code = save_organisation(node)
    as_if_deposited(node)
    kept = rows(node, "saved")
    gone = Registry(deposits.Deleted("sent from another node"))
    monkeypatch.setattr(deposits, "fetch", gone)
    page = resume(english_client(node), code)
    assert page.status_code == 200
    assert "has been sent, or deleted. It cannot be opened again." in page.text
    assert rows(node, "drafts") == []
    assert [row["blob"] for row in rows(node, "saved")] == [row["blob"] for row in kept]


# A copy here past its date ---------------------------------------------------------------


def test_a_copy_here_past_its_date_does_not_hide_the_registrys_newer_one(tmp_path, registry):
    """Saved on A, saved again later on B: A's copy runs out first, B's is still kept.

    Until A's hourly purge deletes its own row, A must not answer "too late" for a code
    the registry still holds, any more than it does after.
    """
    a, b = node_at(tmp_path, registry, "a"), node_at(tmp_path, registry, "b")
    code = save_organisation(a)
    deposit(a)
    on_b = english_client(b)
    resume(on_b, code)
    save(on_b, "organisation", {"organisation_name": ELSEWHERE, "bin": VALID_BIN})
    deposit(b)
    with a.app_context():
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        get_db().execute("UPDATE saved SET expires_at = ?", [past])
        get_db().conn.commit()
    assert organisation_after_resume(a, code) == escape(ELSEWHERE)


def test_a_copy_here_past_its_date_with_none_at_the_registry_is_too_late(node, monkeypatch):
    code = save_organisation(node)
    as_if_deposited(node)
    with node.app_context():
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        get_db().execute("UPDATE saved SET expires_at = ?", [past])
        get_db().conn.commit()
    for answer in (None, deposits.Unreachable("offline")):
        monkeypatch.setattr(deposits, "fetch", Registry(answer))
        page = resume(english_client(node), code).text
        assert EXPIRED in page, answer


def test_the_registrys_newer_copy_replaces_the_one_here_once_opened(app, db, monkeypatch):
    """Opened once from the registry, the newer answers are what this node offers offline."""
    client = english_client(app)
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    db.execute("DELETE FROM deposits")  # deposited: nothing left to send
    db.conn.commit()
    with app.test_request_context("/"):
        newer = saved.seal(
            code,
            saved.Saved(
                {"applicant_type": "individual"}, "c0ffee00-0000-4000-8000-000000000000", "en"
            ),
            saved.find(code)["expires_at"],
        )
    monkeypatch.setattr(deposits, "fetch", lambda lookup, quick=False: newer)
    assert resume(english_client(app), code).headers["Location"] == "/apply/person"

    def offline(lookup, quick=False):
        raise deposits.Unreachable("offline")

    monkeypatch.setattr(deposits, "fetch", offline)
    assert resume(english_client(app), code).headers["Location"] == "/apply/person"
