"""Saved applications past their date: deleted here, and only here.

`saved.delete_expired` removes this node's expired copies and queues nothing for the
registry, which deletes its own copy at its own date: the code may have been saved
again on another node since, with a later date, and a deletion from here would take
that newer copy away. The forwarder runs it every PURGE_EVERY_SECONDS; `flask
expire-saved` runs it by hand and says how many went.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from kiosk import deposits, drafts, return_codes, saved
from kiosk.db import connect
from kiosk.outbox.forwarder import PURGE_EVERY_SECONDS, Forwarder
from kiosk.outbox.transport import registry_of
from kiosk.registry.database import get_db as registry_db
from tests.conftest import english_client
from tests.forwarding import FAST, make_node, make_registry, served
from tests.helpers import VALID_BIN, code_on, post_step, resume, save

FAST_SCRYPT = {"n": 2**10, "r": 8, "p": 1}
DOWN = "http://127.0.0.1:9"  # nothing listens there


@pytest.fixture
def node(make_app) -> Flask:
    """A node whose registry cannot be reached: nothing leaves unless a test says so."""
    return make_app(SAVED_SCRYPT=FAST_SCRYPT, REGISTRY_URL=DOWN, **FAST)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The reference registry, served for real: (its app, its URL)."""
    app = make_registry(tmp_path / "registry")
    with served(app) as url:
        yield app, url


def save_one(node_app: Flask, name: str = "Әлия") -> str:
    """Save a new draft on this node; its code."""
    with node_app.test_request_context("/"):
        draft = drafts.create()
        draft.answers = {"applicant_type": "individual", "full_name": name}
        drafts.save(draft)
        return saved.save(draft, "kk")[0]


def as_if_deposited(node_app: Flask) -> None:
    """The forwarder has sent every deposit: the queue is empty."""
    run_sql(node_app, "DELETE FROM deposits")


def expire(node_app: Flask, code: str) -> None:
    """This code's copy here ran out a minute ago."""
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    run_sql(
        node_app,
        "UPDATE saved SET expires_at = ? WHERE lookup_id = ?",
        [past, return_codes.lookup_id(code)],
    )


def run_sql(node_app: Flask, sql: str, params: list | None = None) -> None:
    db = connect(node_app.config["DATABASE"])
    try:
        db.execute(sql, params or [])
        db.conn.commit()
    finally:
        db.close()


def table(node_app: Flask, name: str) -> list[dict]:
    db = connect(node_app.config["DATABASE"])
    try:
        return list(db[name].rows)
    finally:
        db.close()


def kept_here(node_app: Flask) -> set[str]:
    return {row["lookup_id"] for row in table(node_app, "saved")}


# delete_expired -------------------------------------------------------------------------


def test_delete_expired_deletes_only_expired_copies_and_queues_no_deletion(node):
    gone, stays = save_one(node), save_one(node)
    as_if_deposited(node)
    expire(node, gone)
    with node.app_context():
        assert saved.delete_expired() == 1
    assert kept_here(node) == {return_codes.lookup_id(stays)}
    assert table(node, "deposits") == []  # nothing for the registry: it keeps its own date


def test_an_expiry_here_leaves_a_newer_save_elsewhere_at_the_registry(tmp_path, registry):
    """Saved on A, resumed and saved again later on B; A's copy runs out first.

    A's purge must send nothing: the registry keeps B's copy, and the code still opens
    on a third node with B's answers.
    """
    app, url = registry
    a, b, c = (
        make_node(tmp_path / name, app, url, node_id=f"node-{name}", SAVED_SCRYPT=FAST_SCRYPT)
        for name in ("a", "b", "c")
    )
    code = save_on_the_web(a, "«Қамқор» қоры")
    send_deposits(a)
    on_b = english_client(b)
    resume(on_b, code)
    save(on_b, "organisation", {"organisation_name": "«Үміт» қоры", "bin": VALID_BIN})
    send_deposits(b)
    expire(a, code)
    with a.app_context():
        assert saved.delete_expired() == 1
    assert table(a, "deposits") == []
    send_deposits(a)  # A has nothing to send: B's copy stays
    with app.app_context():
        [kept] = registry_db().rows("SELECT * FROM saved")
    assert kept["lookup_id"] == return_codes.lookup_id(code) and kept["node_id"] == "node-b"
    on_c = english_client(c)
    assert resume(on_c, code).headers["Location"] == "/apply/region"
    assert 'value="«Үміт» қоры"' in on_c.get("/apply/organisation").text


def save_on_the_web(node_app: Flask, organisation: str) -> str:
    """Save through the web page, on the organisation page; the code shown."""
    client = english_client(node_app)
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = save(client, "organisation", {"organisation_name": organisation, "bin": VALID_BIN})
    return code_on(page.text)


def send_deposits(node_app: Flask) -> None:
    db = connect(node_app.config["DATABASE"])
    try:
        registry = registry_of(node_app)
        deposits.send_due(db, registry, timeout=node_app.config["SEND_TIMEOUT"])
    finally:
        db.close()


# The forwarder's hourly purge -----------------------------------------------------------


def test_the_forwarders_purge_deletes_expired_copies_every_hour(node):
    """A fresh forwarder purges on its first turn, then again once the hour has gone by."""
    first, second = save_one(node), save_one(node)
    as_if_deposited(node)
    expire(node, first)
    forwarder = Forwarder(node)
    db = connect(node.config["DATABASE"])
    try:
        forwarder._turn(db)
        assert kept_here(node) == {return_codes.lookup_id(second)}
        expire(node, second)
        forwarder._turn(db)  # within the hour: not yet
        assert kept_here(node) == {return_codes.lookup_id(second)}
        forwarder._since_purge = PURGE_EVERY_SECONDS  # the loop adds up its waits to this
        forwarder._turn(db)
        assert kept_here(node) == set()
        assert table(node, "deposits") == []  # and nothing queued for the registry
    finally:
        db.close()


# flask expire-saved ---------------------------------------------------------------------


def test_flask_expire_saved_says_how_many_went(node):
    codes = [save_one(node) for _ in range(3)]
    as_if_deposited(node)
    for code in codes[:2]:
        expire(node, code)
    runner = node.test_cli_runner()
    first = runner.invoke(args=["expire-saved"])
    assert first.exit_code == 0, first.output
    assert first.output == "Deleted 2 expired saved applications.\n"
    assert kept_here(node) == {return_codes.lookup_id(codes[2])}
    again = runner.invoke(args=["expire-saved"])
    assert again.output == "Deleted 0 expired saved applications.\n"
    assert table(node, "deposits") == []
