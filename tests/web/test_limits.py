"""Rate limits per address: new drafts, staff sign-in attempts and status look-ups."""

from __future__ import annotations

import re

import pytest

from kiosk.config import ConfigError
from kiosk.staff import accounts
from tests.conftest import english_client
from tests.helpers import answer_all, post_step, submit, token

PASSWORD = "correct horse battery"
FIRST_STEP = ("/apply/applicant-type", {"applicant_type": "ngo"})


def from_address(app, address: str, language: str = "en"):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address, "HTTP_ACCEPT_LANGUAGE": language})
    return client


def start_application(app, address: str):
    """A new person at `address` answers the first question, which makes a draft."""
    return post_step(from_address(app, address), *FIRST_STEP)


def assert_please_wait(response, seconds_at_most: int = 60) -> None:
    """A 429 in the site layout, telling people and programs to wait."""
    assert response.status_code == 429
    # Whole seconds, rounded up: a full minute's window may say 61.
    assert 1 <= int(response.headers["Retry-After"]) <= seconds_at_most + 1
    assert '<h1 class="heading-l">Please wait before trying again</h1>' in response.text
    assert 'class="skip-link"' in response.text  # the site's own layout, not a bare page
    assert response.headers["Content-Security-Policy"]


def test_one_address_cannot_make_drafts_without_end(make_app, db_rows):
    app = make_app(LIMIT_DRAFTS="2 per minute")
    assert start_application(app, "10.0.0.1").status_code == 302
    assert start_application(app, "10.0.0.1").status_code == 302
    assert_please_wait(start_application(app, "10.0.0.1"))
    assert db_rows(app, "drafts") == 2
    assert start_application(app, "10.0.0.2").status_code == 302  # someone else goes on


def test_answering_more_questions_of_ones_own_draft_is_not_limited(make_app):
    app = make_app(LIMIT_DRAFTS="1 per minute")
    client = from_address(app, "10.0.0.1")
    answer_all(client)  # twelve pages, one draft
    assert submit(client).status_code == 303


def test_assisted_applications_count_as_drafts_too(make_app):
    app = make_app(LIMIT_DRAFTS="1 per minute")
    with app.test_request_context("/"):
        accounts.add("aigerim", "Айгерім Серікова", "social_worker", "Алматы", PASSWORD)
    worker = from_address(app, "10.0.0.1")
    post_step(worker, "/staff/login", {"username": "aigerim", "password": PASSWORD})
    csrf = token(worker.get("/staff").text)
    assert worker.post("/staff/assist", data={"csrf_token": csrf}).status_code == 302
    assert_please_wait(worker.post("/staff/assist", data={"csrf_token": csrf}))


def sign_in(client, username: str, password: str = PASSWORD):
    return post_step(client, "/staff/login", {"username": username, "password": password})


@pytest.fixture
def staffed_app(make_app):
    def make(**config):
        app = make_app(**config)
        with app.test_request_context("/"):
            accounts.add("aigerim", "Айгерім Серікова", "social_worker", "Алматы", PASSWORD)
            accounts.add("dmitry", "Дмитрий Ким", "social_worker", "Астана", PASSWORD)
        return app

    return make


def test_sign_in_attempts_are_limited_per_address(staffed_app):
    app = staffed_app(LIMIT_LOGIN="3 per minute")
    guesser = from_address(app, "10.0.0.1")
    for number in range(3):
        assert sign_in(guesser, f"guess{number}", "nope nope nope").status_code == 200
    assert_please_wait(sign_in(guesser, "aigerim"))  # not even the right password now
    assert sign_in(from_address(app, "10.0.0.2"), "aigerim").status_code == 302


def test_one_persons_failures_do_not_lock_out_other_staff(staffed_app):
    app = staffed_app()  # the default limits: 30 a minute
    guesser = from_address(app, "10.0.0.1")
    for number in range(30):
        sign_in(guesser, f"guess{number}", "nope nope nope")
    assert sign_in(guesser, "dmitry").status_code == 429
    assert sign_in(from_address(app, "10.0.0.2"), "dmitry").status_code == 302


def test_reading_the_sign_in_page_is_not_counted(staffed_app):
    app = staffed_app(LIMIT_LOGIN="1 per minute")
    client = from_address(app, "10.0.0.1")
    for _ in range(5):
        assert client.get("/staff/login").status_code == 200
    assert sign_in(client, "aigerim").status_code == 302


def test_a_forged_forwarded_for_header_does_not_reset_the_count(staffed_app):
    app = staffed_app(LIMIT_LOGIN="2 per minute")
    client = from_address(app, "10.0.0.1")
    for number in range(3):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{number}"
        last = sign_in(client, "aigerim", "nope nope nope")
    assert last.status_code == 429


def test_status_look_ups_are_limited_per_address(make_app):
    app = make_app(LIMIT_STATUS="2 per minute")
    asker = from_address(app, "10.0.0.1")
    for _ in range(5):  # the empty form is not a look-up
        assert asker.get("/status").status_code == 200
    assert asker.get("/status?reference=7K3M-9QXT-W").status_code in (200, 404)
    assert asker.get("/status?reference=").status_code == 200
    assert_please_wait(asker.get("/status?reference=7K3M-9QXT-X"))
    assert from_address(app, "10.0.0.2").get("/status?reference=7K3M-9QXT-W").status_code in (
        200,
        404,
    )


@pytest.mark.parametrize(
    ("language", "title", "body"),
    [
        (
            "kk",
            "Қайталап көрмес бұрын біраз күтіңіз",
            "Бірнеше минут күтіп, қайталап көріңіз.",
        ),
        (
            "ru",
            "Подождите, прежде чем пробовать снова",
            "Подождите несколько минут и попробуйте снова.",
        ),
        ("en", "Please wait before trying again", "Wait a few minutes, then try again."),
    ],
)
def test_the_please_wait_page_speaks_the_persons_language(make_app, language, title, body):
    app = make_app(LIMIT_STATUS="1 per minute")
    client = from_address(app, "10.0.0.1", language)
    client.get("/status?reference=7K3M-9QXT-W")
    page = client.get("/status?reference=7K3M-9QXT-W")
    assert page.status_code == 429
    assert f'<html lang="{language}"' in page.text
    assert f'<h1 class="heading-l">{title}</h1>' in page.text
    assert body in page.text
    assert re.search(r"<title>[^<]*" + re.escape(title), page.text)


@pytest.mark.parametrize(
    "value", ["", "lots", "0 per minute", "-1 per hour", "20 per fortnight", "9" * 10_000 + "/"]
)
@pytest.mark.parametrize("setting", ["LIMIT_DRAFTS", "LIMIT_LOGIN", "LIMIT_STATUS"])
def test_a_limit_that_cannot_be_read_stops_the_start(make_app, setting, value):
    with pytest.raises(ConfigError, match=f"KIOSK_{setting}"):
        make_app(**{setting: value})


@pytest.fixture
def db_rows():
    from kiosk.db import connect

    def count(app, table: str) -> int:
        database = connect(app.config["DATABASE"])
        try:
            return database[table].count
        finally:
            database.close()

    return count


def test_english_client_is_unaffected_by_other_addresses(make_app):
    app = make_app(LIMIT_DRAFTS="1 per minute")
    assert start_application(app, "10.0.0.9").status_code == 302
    assert post_step(english_client(app), *FIRST_STEP).status_code == 302
