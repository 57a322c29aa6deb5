"""Sign-in lockout: counted per user name in one atomic step, and the same for every name."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.staff import accounts
from tests.conftest import english_client
from tests.helpers import post_step, token

PASSWORD = "correct horse battery"
GUESSERS = 32


@pytest.fixture
def guarded_app(make_app):
    """An app whose per-address limit is out of the way: these tests are about the lockout."""
    app = make_app(LIMIT_LOGIN="10000 per minute")
    with app.test_request_context("/"):
        accounts.add("aigerim", "Айгерім Серікова", "social_worker", "Алматы", PASSWORD)
    return app


def sign_in(client, username: str, password: str = PASSWORD):
    return post_step(client, "/staff/login", {"username": username, "password": password})


@pytest.fixture
def counted_checks(monkeypatch) -> list[str]:
    """Every password check, slowed down so that parallel guesses overlap."""
    calls: list[str] = []
    real_check = accounts.check_password_hash

    def check(stored: str, password: str) -> bool:
        calls.append(password)
        time.sleep(0.05)
        return real_check(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", check)
    return calls


def test_parallel_guesses_get_at_most_five_password_checks(
    guarded_app, counted_checks, monkeypatch
):
    clients = [english_client(guarded_app) for _ in range(GUESSERS)]
    tokens = [token(client.get("/staff/login").text) for client in clients]
    start = threading.Barrier(GUESSERS)
    statuses: list[int] = []

    def guess(client, csrf: str, number: int) -> None:
        start.wait()
        response = client.post(
            "/staff/login",
            data={"username": "aigerim", "password": f"guess {number:04}", "csrf_token": csrf},
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=guess, args=(client, csrf, number))
        for number, (client, csrf) in enumerate(zip(clients, tokens, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * GUESSERS  # every guess was answered, none got in
    assert len(counted_checks) <= accounts.MAX_FAILURES

    right = english_client(guarded_app)
    refused = sign_in(right, "aigerim")
    assert refused.status_code == 200 and "Too many wrong attempts" in refused.text
    assert len(counted_checks) <= accounts.MAX_FAILURES  # not even the right one was tried

    later = datetime.now(UTC) + timedelta(minutes=accounts.LOCK_MINUTES + 1)
    monkeypatch.setattr(accounts, "_now", lambda: later)
    assert sign_in(right, "aigerim").status_code == 302


def _as_read(page: str, username: str) -> str:
    """The page as a person reads it, with the typed name and the form token taken out."""
    page = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page)
    return page.replace(f'value="{username}"', 'value="…"')


def test_a_real_and_an_unknown_name_read_the_same_at_every_attempt(guarded_app):
    real, unknown = english_client(guarded_app), english_client(guarded_app)
    for attempt in range(1, 8):
        known = sign_in(real, "aigerim", "nope nope nope")
        stranger = sign_in(unknown, "aizhan", "nope nope nope")
        assert known.status_code == stranger.status_code == 200, attempt
        assert _as_read(known.text, "aigerim") == _as_read(stranger.text, "aizhan"), attempt
        expected = "Too many wrong attempts" if attempt > 5 else "is not right"
        assert expected in known.text, attempt


def test_success_clears_the_count(guarded_app):
    client = english_client(guarded_app)
    for _ in range(4):
        sign_in(client, "aigerim", "nope nope nope")
    assert sign_in(client, "aigerim").status_code == 302
    other = english_client(guarded_app)
    for _ in range(4):
        assert "is not right" in sign_in(other, "aigerim", "nope nope nope").text
    assert sign_in(other, "aigerim").status_code == 302


@pytest.mark.parametrize(
    "name", ["", " ", "\x00", "\u202eaigerim", "AIGERIM ", "a" * 10_000, "'; DROP TABLE staff; --"]
)
def test_odd_names_are_refused_without_an_error(guarded_app, name):
    client = english_client(guarded_app)
    response = sign_in(client, name, "nope nope nope")
    assert response.status_code == 200
    assert "Sign in for staff" in response.text


def test_a_name_typed_differently_shares_the_count(guarded_app):
    client = english_client(guarded_app)
    for spelling in ["aigerim", "AIGERIM", " Aigerim ", "aige\u200brim", "AiGeRiM"]:
        sign_in(client, spelling, "nope nope nope")
    assert "Too many wrong attempts" in sign_in(client, "aigerim").text
