"""A bad day for the node: a database locked past its busy timeout, a full disk, a draft that
ran out while its applicant was away, a kiosk left on a confirmation, and hostile requests.

Each one gets a page in the site layout that says what happened, with everything the person
typed kept, never a 500.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from kiosk import db as kiosk_db
from kiosk.journey import views
from tests.conftest import english_client
from tests.disk import small_disk
from tests.helpers import answer_all, post_step, submit, token

NOT_SAVED = "Your answers could not be saved just now"
EXPIRED = "Your earlier answers were deleted"


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """Connections give up on a lock after 0.2 s instead of 10 s, so a test can outlast it."""
    real = kiosk_db.connect

    def connect(path):
        database = real(path)
        database.execute("PRAGMA busy_timeout=200")
        return database

    monkeypatch.setattr(kiosk_db, "connect", connect)


@pytest.fixture
def lock_held(app, short_busy_timeout):
    """Another process holds the write lock (a backup, a stuck forwarder) for the whole test."""
    holder = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield
    holder.execute("ROLLBACK")
    holder.close()


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


def test_a_question_under_a_long_lock_shows_the_page_again_with_the_answer(client, lock_held):
    post = post_step(client, "/apply/title", {"project_title": "Онлайн сурдоаударма"})
    assert post.status_code == 200
    assert post.text.count(NOT_SAVED) == 1
    assert "<title>Error:" in post.text
    assert 'value="Онлайн сурдоаударма"' in post.text


def test_a_submit_on_a_full_disk_keeps_the_page_and_sends_once_space_is_back(make_app, disk):
    app = make_app(INSTANCE=disk.mount, DATABASE=str(disk.mount / "kiosk.sqlite3"))
    client = english_client(app)
    answer_all(client)
    page = client.get("/apply/declaration").text
    disk.fill()
    response = client.post("/apply/declaration", data={"consent": "y", "csrf_token": token(page)})
    assert response.status_code == 200
    assert NOT_SAVED in response.text
    assert re.search(r'name="consent"[^>]*checked', response.text)  # the tick is kept
    disk.fill()
    on_a_question = client.post(
        "/apply/settlement", data={"settlement": "Қарағанды", "csrf_token": token(page)}
    )
    assert on_a_question.status_code == 200 and 'value="Қарағанды"' in on_a_question.text
    disk.fill()
    reading = client.get("/apply/check")
    assert reading.status_code == 503 and "Retry-After" in reading.headers
    assert "cannot open applications just now" in reading.text
    assert "Content-Security-Policy" in reading.headers
    disk.free()
    assert submit(client).status_code == 303
    assert client.get("/apply/confirmation").status_code == 200
    database = kiosk_db.connect(app.config["DATABASE"])
    assert database["submissions"].count == 1 and database["outbox"].count == 1


def test_a_submit_under_a_long_lock_keeps_the_draft(client, app, short_busy_timeout):
    answer_all(client)
    page = client.get("/apply/declaration").text
    holder = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.post(
            "/apply/declaration", data={"consent": "y", "csrf_token": token(page)}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 200 and NOT_SAVED in response.text
    assert submit(client).status_code == 303  # the draft is still there, and now it goes


def _expire_drafts(app) -> None:
    database = kiosk_db.connect(app.config["DATABASE"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    database.execute("UPDATE drafts SET expires_at = ?", [past])
    database.close()


def test_a_draft_that_ran_out_says_so_and_starts_from_the_first_question(client, app):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = client.get("/apply/title").text
    _expire_drafts(app)
    response = client.post(
        "/apply/title", data={"project_title": "Жоба", "csrf_token": token(page)}
    )
    assert response.headers["Location"] == "/apply/applicant-type"
    first = client.get("/apply/applicant-type").text
    assert first.count(EXPIRED) == 1
    assert 'role="region"' in first
    assert EXPIRED not in client.get("/apply/applicant-type").text  # said once


def test_opening_a_page_after_the_draft_ran_out_says_so(client, app):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    _expire_drafts(app)
    assert EXPIRED in client.get("/apply/region").text


def test_a_sent_application_is_not_reported_as_expired(client):
    answer_all(client)
    submit(client)
    assert EXPIRED not in client.get("/apply/applicant-type").text


# A kiosk left on a confirmation --------------------------------------------------------------


@pytest.fixture
def kiosk(make_app):
    return english_client(make_app(KIOSK_MODE=True, IDLE_SECONDS=60, GRACE_SECONDS=30))


def test_a_kiosk_forgets_the_confirmation_when_its_applicant_has_left(kiosk, monkeypatch):
    answer_all(kiosk)
    submit(kiosk)
    assert kiosk.get("/apply/confirmation").status_code == 200
    assert kiosk.get("/apply/receipt").status_code == 200
    later = views._clock() + 91
    monkeypatch.setattr(views, "_clock", lambda: later)
    assert kiosk.get("/apply/confirmation").status_code == 404
    monkeypatch.undo()
    assert kiosk.get("/apply/receipt").status_code == 404  # forgotten, not only hidden


def test_a_kiosk_keeps_the_confirmation_while_the_applicant_is_there(kiosk, monkeypatch):
    answer_all(kiosk)
    submit(kiosk)
    start = views._clock()
    for minute in range(1, 4):  # each look keeps it for another idle + grace
        monkeypatch.setattr(views, "_clock", lambda minute=minute: start + 60 * minute)
        assert kiosk.get("/apply/confirmation").status_code == 200


def test_finish_without_a_form_token_still_clears_the_kiosk(kiosk):
    answer_all(kiosk)
    submit(kiosk)
    response = kiosk.post("/kiosk/finish", data={})
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk"
    assert "Clear-Site-Data" in response.headers
    assert kiosk.get("/apply/confirmation").status_code == 404


# Hostile requests -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["endpoint", "_method", "_external", "_scheme", "_anchor", "lang"])
@pytest.mark.parametrize("path", ["/", "/apply/applicant-type", "/status", "/missing"])
def test_query_arguments_named_like_url_for_options_do_no_harm(client, name, path):
    response = client.get(path, query_string={name: "x"})
    assert response.status_code in (200, 404)
    assert "Content-Security-Policy" in response.headers
    assert 'hreflang="kk"' in response.text or "lang=kk" in response.text


def test_the_language_switch_keeps_the_query(client):
    page = client.get("/status", query_string={"reference": "7K3M-9QXT-W"}).text
    assert "/status?reference=7K3M-9QXT-W&amp;lang=ru" in page


@pytest.mark.parametrize(
    "query", [b"x=%ff", b"%ff=1", b"reference=%c3%28", b"lang=%ff%fe", b"x=\xff", b"\xfe\xff"]
)
def test_bytes_that_are_not_utf8_in_the_query_string(client, query):
    for path in ("/", "/status", "/apply/applicant-type"):
        wsgi_query = query.decode("latin-1")  # WSGI carries the raw bytes as latin-1 text
        response = client.get(path, environ_overrides={"QUERY_STRING": wsgi_query})
        assert response.status_code == 200, (path, query)
        assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize(
    ("slug", "data", "message"),
    [
        ("people", {"helped_last_year": "9" * 5000, "helped_total": "1"}, "no bigger than"),
        ("people", {"helped_last_year": "0" * 5000 + "7", "helped_total": "0" * 5000 + "8"}, None),
        ("start-date", {"start_month": "1" * 5000, "start_year": "2020"}, "from 1 to 12"),
        ("start-date", {"start_month": "0" * 5000 + "3", "start_year": "2020"}, None),
    ],
)
def test_numbers_longer_than_python_reads(client, slug, data, message):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    response = post_step(client, f"/apply/{slug}", data)
    if message is None:
        assert response.status_code == 302
    else:
        assert response.status_code == 200 and message in response.text


def test_a_crafted_path_cannot_write_a_line_into_the_log(make_app, caplog):
    app = make_app()

    @app.get("/boom/<rest>")
    def boom(rest):
        raise RuntimeError(rest)

    client = english_client(app)
    forged = "/boom/x%0A2026-12-01 12:00:00 INFO kiosk: admin signed in"
    with caplog.at_level(logging.ERROR):
        response = client.get(forged)
    assert response.status_code == 500
    assert "Content-Security-Policy" in response.headers
    assert caplog.records, "the error is logged"
    for record in caplog.records:
        assert "\n2026-12-01" not in record.getMessage()
