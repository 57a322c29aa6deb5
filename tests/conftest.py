"""Fixtures: an app on its own temporary database, and a client speaking English.

Most tests read English texts, so the client sends Accept-Language: en; tests
of the language rules set their own.
"""

from __future__ import annotations

import pytest

from kiosk import create_app


@pytest.fixture
def app(tmp_path):
    return create_app(
        {
            "INSTANCE": tmp_path,
            "DATABASE": str(tmp_path / "kiosk.sqlite3"),
            "SECRET_KEY": "test-secret",
        }
    )


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def db(app):
    from kiosk.db import connect

    database = connect(app.config["DATABASE"])
    yield database
    database.close()
