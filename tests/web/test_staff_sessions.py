"""A copied staff session cookie stops working at logout, password reset and disabling."""

from __future__ import annotations

import re

import pytest

from kiosk.db import connect
from kiosk.staff import accounts
from tests.conftest import english_client
from tests.helpers import post_step, token

PASSWORD = "correct horse battery"
COOKIE = "kiosk_session"


@pytest.fixture
def people(app):
    with app.test_request_context("/"):
        return {
            "aigerim": accounts.add("aigerim", "Айгерім Серікова", "social_worker", "", PASSWORD),
            "admin": accounts.add("admin", "Ержан Әбілов", "admin", "", PASSWORD),
        }


def signed_in(app, username: str, password: str = PASSWORD):
    client = english_client(app)
    response = post_step(client, "/staff/login", {"username": username, "password": password})
    assert response.status_code == 302
    return client


def stolen_copy(app, client):
    """Another browser holding an exact copy of `client`'s session cookie."""
    thief = english_client(app)
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def is_signed_in(client) -> bool:
    return client.get("/staff").status_code == 200


def press(client, page_url: str, action: str):
    page = client.get(page_url).text
    form = re.search(rf'action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S).group(1)
    return client.post(action, data={"csrf_token": token(form)})


def test_a_copied_cookie_is_refused_after_logout(app, people):
    worker = signed_in(app, "aigerim")
    thief = stolen_copy(app, worker)
    assert is_signed_in(thief)  # the copy works while the session lives
    press(worker, "/staff", "/staff/logout")
    assert not is_signed_in(thief)
    assert "/staff/login" in thief.get("/staff").headers["Location"]


def test_logout_ends_the_same_account_on_other_devices_too(app, people):
    office, phone = signed_in(app, "aigerim"), signed_in(app, "aigerim")
    press(office, "/staff", "/staff/logout")
    assert not is_signed_in(phone)
    assert is_signed_in(signed_in(app, "aigerim"))  # signing in again works


def test_a_copied_cookie_is_refused_after_an_admin_resets_the_password(app, people):
    worker = signed_in(app, "aigerim")
    thief = stolen_copy(app, worker)
    admin = signed_in(app, "admin")
    staff_id = people["aigerim"].id
    reset = press(admin, "/staff/admin/staff", f"/staff/admin/staff/{staff_id}/reset")
    new_password = re.search(r'class="reference">([^<]+)<', reset.text).group(1)
    assert not is_signed_in(thief) and not is_signed_in(worker)
    assert is_signed_in(admin)  # the administrator's own session is untouched
    assert is_signed_in(signed_in(app, "aigerim", new_password))


def test_a_copied_cookie_is_refused_after_a_reset_from_the_command_line(app, people):
    worker = signed_in(app, "aigerim")
    thief = stolen_copy(app, worker)
    result = app.test_cli_runner().invoke(args=["staff", "reset-password", "aigerim"])
    assert result.exit_code == 0
    assert not is_signed_in(thief) and not is_signed_in(worker)


def test_a_copied_cookie_is_refused_after_disable_and_enable(app, people):
    worker = signed_in(app, "aigerim")
    thief = stolen_copy(app, worker)
    runner = app.test_cli_runner()
    runner.invoke(args=["staff", "disable", "aigerim"])
    runner.invoke(args=["staff", "enable", "aigerim"])
    assert not is_signed_in(thief)


def test_an_older_database_gets_the_session_version(make_app, tmp_path):
    old = connect(tmp_path / "kiosk.sqlite3")
    old.execute(
        "CREATE TABLE staff (id INTEGER PRIMARY KEY, username TEXT NOT NULL, name TEXT NOT NULL,"
        " role TEXT NOT NULL, centre TEXT DEFAULT '', password_hash TEXT NOT NULL,"
        " disabled INTEGER DEFAULT 0, failed_logins INTEGER DEFAULT 0, locked_until TEXT,"
        " created_at TEXT NOT NULL)"
    )
    old.close()
    app = make_app()
    with app.test_request_context("/"):
        accounts.add("aigerim", "Айгерім Серікова", "social_worker", "", PASSWORD)
    worker = signed_in(app, "aigerim")
    thief = stolen_copy(app, worker)
    press(worker, "/staff", "/staff/logout")
    assert not is_signed_in(thief)
