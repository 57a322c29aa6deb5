"""Staff account details meet the same limits from the admin page and the command line.

A centre name goes into every assisted application, whose schema allows 200
characters: an account that breaks a limit would make every application its
worker sends fail at the registry.
"""

from __future__ import annotations

import pytest

from kiosk.db import connect
from kiosk.staff import accounts
from tests.conftest import english_client
from tests.helpers import post_step

PASSWORD = "correct horse battery"


def cli_add(app, username: str, name: str = "Нұрлан Әлиев", centre: str = "Алматы"):
    return app.test_cli_runner().invoke(
        args=["staff", "add", username, "--name", name, "--centre", centre, "--password", PASSWORD]
    )


def stored(app) -> list[dict]:
    return list(connect(app.config["DATABASE"])["staff"].rows)


@pytest.mark.parametrize(
    ("username", "name", "centre", "message"),
    [
        ("nurlan", "Нұрлан", "Ц" * 201, "centre must have at most 200 characters"),
        ("nurlan", "Н" * 201, "Алматы", "full name must have at most 200 characters"),
        ("n" * 51, "Нұрлан", "Алматы", "user name must have at most 50 characters"),
        ("", "Нұрлан", "Алматы", "user name is empty"),
        ("\x00\u200b\u202e ", "Нұрлан", "Алматы", "user name is empty"),
        ("nurlan", "", "Алматы", "full name must contain letters"),
        ("nurlan", "12345 !!!", "Алматы", "full name must contain letters"),
        ("nurlan", "\u202e\x00", "Алматы", "full name must contain letters"),
        ("nurlan", "Нұрлан", "Ц" * 100_000, "centre must have at most 200 characters"),
    ],
)
def test_the_command_line_refuses_what_the_form_refuses(app, username, name, centre, message):
    result = cli_add(app, username, name, centre)
    assert result.exit_code != 0
    assert message in result.output
    assert stored(app) == []


def test_the_command_line_accepts_the_longest_allowed_values(app):
    result = cli_add(app, "n" * 50, "Н" * 200, "Ц" * 200)
    assert result.exit_code == 0, result.output
    row = stored(app)[0]
    assert (len(row["username"]), len(row["name"]), len(row["centre"])) == (50, 200, 200)


def test_the_command_line_cleans_hostile_characters_like_the_form(app):
    result = cli_add(app, " Nur\x00Lan\u200b ", "Нұрлан\u202e\n  Әлиев\x07", "Алматы\r\nӘҚКО\u2066")
    assert result.exit_code == 0, result.output
    row = stored(app)[0]
    assert (row["username"], row["name"], row["centre"]) == (
        "nurlan",
        "Нұрлан Әлиев",
        "Алматы ӘҚКО",
    )


def test_the_admin_page_refuses_a_centre_over_the_schema_limit(app):
    with app.test_request_context("/"):
        accounts.add("admin", "Ержан Әбілов", "admin", "", PASSWORD)
    admin = english_client(app)
    post_step(admin, "/staff/login", {"username": "admin", "password": PASSWORD})
    page = post_step(
        admin,
        "/staff/admin/staff",
        {"username": "saule", "name": "Сәуле", "role": "social_worker", "centre": "Ц" * 201},
    )
    assert "Use 200 characters or fewer" in page.text
    assert [row["username"] for row in stored(app)] == ["admin"]


def test_accounts_add_itself_refuses_a_long_centre(app):
    with app.test_request_context("/"), pytest.raises(ValueError, match="centre"):
        accounts.add("nurlan", "Нұрлан", "social_worker", "Ц" * 201, PASSWORD)
