"""Fixtures: an app on its own temporary database, and a client speaking English.

Apps encrypt to the test registry's key (tests/keys.py), as every deployed node does.

Most tests read English texts, so the client sends Accept-Language: en; tests
of the language rules set their own.
"""

from __future__ import annotations

import pytest

from kiosk import create_app
from tests.browser.tables import COVERAGE
from tests.keys import NODE_KEYS
from tests.smtp import smtp_sink  # noqa: F401 (a fixture, kept in tests/smtp.py)


@pytest.fixture
def make_app(tmp_path):
    """Build an app on this test's own database, with `config` on top."""

    def make(**config):
        return create_app(
            {
                "INSTANCE": tmp_path,
                "DATABASE": str(tmp_path / "kiosk.sqlite3"),
                "SECRET_KEY": "test-secret",
                **NODE_KEYS,
                **config,
            }
        )

    return make


@pytest.fixture
def app(make_app):
    return make_app()


def english_client(app):
    """A test client whose browser asks for English."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def client(app):
    return english_client(app)


@pytest.fixture
def db(app):
    from kiosk.db import connect

    database = connect(app.config["DATABASE"])
    yield database
    database.close()


@pytest.fixture
def web_node(make_app):
    """The app deployed as a web node: waitress with run.py's options, behind a real nginx over
    HTTPS (tests/nginx.py). Yields (app, the running nginx)."""
    from contextlib import contextmanager

    from tests.nginx import behind_nginx, waitress

    @contextmanager
    def serve(**config):
        app = make_app(**config)
        with waitress(app) as url:
            yield app, url

    with behind_nginx(serve) as served:
        yield served


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole session (tests/postgres.py)."""
    from tests.postgres import postgres_server

    with postgres_server() as server:
        server.shared = server.create_database()  # each test's schema is made in it
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_backend(request):
    """The registry's database, once on each backend: settings for make_registry.

    SQLite needs none (a file in the registry's folder); PostgreSQL gets a schema of its
    own in a database on the session's server, dropped afterwards.
    """
    if request.param == "sqlite":
        yield {}
        return
    from kiosk.registry.database import close_pools

    server = request.getfixturevalue("postgres")
    url = server.create_schema(server.shared)
    yield {"DATABASE_URL": url}
    close_pools()
    server.drop_schema(url)


# The browser suite's coverage tables (tests/browser/tables.py), printed once at the end. Under
# pytest-xdist (`make test` runs two workers) each worker hands its marks to the controller.


def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["coverage"] = COVERAGE.marks()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for title, row, column, mark in node.workeroutput.get("coverage", []):
        COVERAGE.record(title, row, column, mark)


def pytest_terminal_summary(terminalreporter):
    if COVERAGE.tables:
        terminalreporter.section("accessibility coverage")
        for line in COVERAGE.lines():
            terminalreporter.write_line(line)
