"""Submitting: once, durably, and never twice; the window; drafts that expire."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

from kiosk import drafts
from tests.conftest import english_client
from tests.helpers import answer_all, post_step, submit, token


def _reference(page: str) -> str:
    return re.search(r'class="reference">([0-9A-Z-]+)<', page).group(1)


def test_double_submit_gives_one_submission_and_the_same_confirmation(client, db):
    answer_all(client)
    form = client.get("/apply/declaration").text
    data = {"consent": "y", "csrf_token": token(form)}
    first = client.post("/apply/declaration", data=data)
    second = client.post("/apply/declaration", data=data)  # double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db["submissions"].count == 1 and db["outbox"].count == 1


def test_replayed_post_with_the_old_cookie_gives_the_same_confirmation(client, db):
    answer_all(client)
    form = client.get("/apply/declaration").text
    old_cookie = client.get_cookie("kiosk_session").value
    data = {"consent": "y", "csrf_token": token(form)}
    client.post("/apply/declaration", data=data)
    reference = _reference(client.get("/apply/confirmation").text)

    client.set_cookie("kiosk_session", old_cookie)  # the browser re-sends the old form
    replay = client.post("/apply/declaration", data=data)
    assert replay.status_code == 303
    assert _reference(client.get("/apply/confirmation").text) == reference
    assert db["submissions"].count == 1


def test_concurrent_submits_of_one_draft_make_one_submission(app, client, db):
    answer_all(client)
    form = client.get("/apply/declaration").text
    cookie = client.get_cookie("kiosk_session").value
    data = {"consent": "y", "csrf_token": token(form)}
    barrier = threading.Barrier(8)
    statuses = []

    def send() -> None:
        other = app.test_client()
        other.set_cookie("kiosk_session", cookie)
        barrier.wait()
        statuses.append(other.post("/apply/declaration", data=data).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303] * 8
    assert db["submissions"].count == 1 and db["outbox"].count == 1


def test_submission_and_outbox_row_are_written_together(client, db):
    answer_all(client)
    submit(client)
    submission = next(iter(db["submissions"].rows))
    queued = next(iter(db["outbox"].rows))
    assert queued["submission_id"] == submission["id"]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_submit_leaves_the_draft_and_writes_nothing(client, db, monkeypatch):
    answer_all(client)
    from kiosk import outbox

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(outbox, "enqueue", broken)
    response = submit(client)
    assert response.status_code == 500
    assert "Sorry, something went wrong" in response.text
    assert db["submissions"].count == 0 and db["outbox"].count == 0
    assert db["drafts"].count == 1  # nothing lost: the applicant can try again
    monkeypatch.undo()
    assert submit(client).status_code == 303


def test_each_draft_gets_a_uuid_that_becomes_the_submission_id(client, db):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    draft = next(iter(db["drafts"].rows))
    assert re.fullmatch(r"[0-9a-f-]{36}", draft["submission_id"])
    answer_all(client)
    submit(client)
    assert next(iter(db["submissions"].rows))["id"] == draft["submission_id"]


def test_expired_draft_is_deleted_and_the_journey_starts_again(client, db, monkeypatch):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    later = datetime.now(UTC) + timedelta(hours=25)
    monkeypatch.setattr(drafts, "_now", lambda: later)
    assert client.get("/apply/check").headers["Location"].endswith("/")
    assert db["drafts"].count == 0


def test_closed_window_says_so_and_accepts_no_post(app, client, db):
    answer_all(client)
    form = client.get("/apply/declaration").text  # the applicant is on the last page...
    app.config["CLOSES"] = datetime.now(UTC) - timedelta(seconds=1)  # ...when the deadline passes
    response = client.post("/apply/declaration", data={"consent": "y", "csrf_token": token(form)})
    assert response.status_code == 403
    assert "Applications are closed" in response.text
    assert db["submissions"].count == 0

    page = client.get("/apply/region")
    title = client.get(
        "/apply/title", headers={"Accept-Language": "en"}, follow_redirects=True
    ).text
    assert page.status_code == 302
    assert "Applications are closed. The deadline was" in title
    assert "Start now" not in title


def test_window_not_yet_open_says_when_it_opens(make_app):
    now = datetime.now(UTC)
    app = make_app(OPENS=now + timedelta(days=3), CLOSES=now + timedelta(days=60))
    client = english_client(app)
    start = client.get("/").text
    assert "You can apply from" in start and "Start now" not in start
    assert client.get("/apply/applicant-type").status_code == 302
