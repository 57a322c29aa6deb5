"""The registry's administration pages (kiosk/registry/admin_views.py), on SQLite and PostgreSQL.

Signing in (right, wrong, disabled, locked out, without a form token, too often), signing
out, every page behind the sign-in, the accounts' commands, and the nodes page: every
flag said in words in each language, flagged nodes first, counts and times as the
page's language writes them, the empty registry, and no English left on a Kazakh or
Russian page.
"""

from __future__ import annotations

import http.client
import importlib.util
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from click.testing import CliRunner

from kiosk.competition import regions
from kiosk.registry import (
    admin_nodes,
    admins,
    audit_log,
    database,
    reports_api,
    reports_store,
    store,
)
from kiosk.registry import settings as registry_settings
from kiosk.registry.cli import registry_cli
from tests.forwarding import make_registry, registry_env
from tests.helpers import token
from tests.nginx import REGISTRY_SITE, nginx, ssl_context, waitress
from tests.postgres import postgres_server
from tests.registry_load import GunicornRegistry
from tests.web.test_languages import REFERENCE, _english_words
from tests.web.test_page_weight import BUDGET, LOADS  # every page with all it loads, fonts apart

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
WRONG = "The user name or password is not right"
LOCKED = "Too many wrong attempts. Wait 15 minutes and try again, or ask an administrator."


@pytest.fixture
def registry(tmp_path, registry_backend):
    # Sign-in attempts per address are limited: high here, so only the limit's own test meets it.
    return make_registry(
        tmp_path / "registry", ADMIN_LIMIT_LOGIN="1000 per minute", **registry_backend
    )


@pytest.fixture
def admin(registry):
    with database.connected(registry.config) as db:
        return admins.add(db, "Aliya", PASSWORD)


def _client(registry, lang: str = "en"):
    client = registry.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    return client


def _sign_in(client, username: str = "aliya", password: str = PASSWORD, query: str = ""):
    page = client.get(f"/admin/login{query}")
    data = {"csrf_token": token(page.text), "username": username, "password": password}
    return client.post(f"/admin/login{query}", data=data)


def _signed_in(client) -> bool:
    return client.get("/admin/nodes").status_code == 200


def _audit(registry) -> list[tuple[str, str, dict]]:
    with database.connected(registry.config) as db:
        return [(row["event"], row["actor"], row["detail"]) for row in audit_log.entries(db)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".").strip()


def _error(html: str) -> str:
    match = re.search(r'<p id="password-error"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no message at the password field"
    return _text(match[1])


# Signing in ------------------------------------------------------------------------------


def test_the_right_password_opens_the_nodes_page_and_is_audited(registry, admin):
    client = _client(registry)
    answer = _sign_in(client, "  ALIYA ", PASSWORD)  # the name as typed, cleaned and lowered
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/nodes"
    page = client.get("/admin/nodes")
    assert page.status_code == 200 and "Signed in as aliya" in page.text
    assert _audit(registry) == [("admin_login", "aliya", {"address": "127.0.0.1"})]


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(registry, admin):
    plain = _client(registry).get("/admin/login").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    secure = registry.test_client().get("/admin/login", base_url="https://localhost")
    cookie = secure.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in secure.headers["Content-Security-Policy"]
    assert secure.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("case", ["wrong password", "unknown name", "disabled"])
def test_every_failed_sign_in_says_the_same_and_is_audited(registry, admin, case):
    if case == "disabled":
        with database.connected(registry.config) as db:
            admins.disable(db, "aliya")
    username, password = {
        "wrong password": ("aliya", "not the password"),
        "unknown name": ("nobody", PASSWORD),
        "disabled": ("aliya", PASSWORD),
    }[case]
    client = _client(registry)
    page = _sign_in(client, username, password)
    assert page.status_code == 200
    assert _error(page.text) == f"Error: {WRONG}"
    assert "<title>Error: " in page.text
    assert not _signed_in(client)
    actor = "unknown user name" if case == "unknown name" else "aliya"
    assert _audit(registry) == [
        ("admin_login_failed", actor, {"address": "127.0.0.1", "reason": case})
    ]


def test_five_wrong_passwords_lock_the_name_and_then_even_the_right_one_fails(registry, admin):
    client = _client(registry)
    for _ in range(admins.MAX_FAILURES):
        assert _error(_sign_in(client, "aliya", "guess").text) == f"Error: {WRONG}"
    page = _sign_in(client, "aliya", PASSWORD)
    assert _error(page.text) == f"Error: {LOCKED}"
    assert not _signed_in(client)
    assert _audit(registry)[-1][2]["reason"] == "locked"
    # A name nobody has is locked just the same: the lock tells nothing about the account.
    for _ in range(admins.MAX_FAILURES):
        _sign_in(client, "nobody", "guess")
    assert _error(_sign_in(client, "nobody", "guess").text) == f"Error: {LOCKED}"
    # Once the lock has run out, the right password works again.
    with database.connected(registry.config) as db:
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="microseconds")
        db.execute("UPDATE registry_admin_attempts SET locked_until = ?", [past])
    assert _sign_in(client, "aliya", PASSWORD).status_code == 303
    assert _signed_in(client)


def test_a_sign_in_without_its_form_token_is_refused(registry, admin):
    client = _client(registry)
    client.get("/admin/login")
    data = {"username": "aliya", "password": PASSWORD}
    page = client.post("/admin/login", data=data)
    assert page.status_code == 400
    assert "This page has expired. Enter your user name and password again." in page.text
    other = _client(registry)  # a token from someone else's session is no better
    stolen = token(other.get("/admin/login").text)
    assert client.post("/admin/login", data={**data, "csrf_token": stolen}).status_code == 400
    assert not _signed_in(client)
    assert _audit(registry) == []


def test_too_many_sign_in_attempts_from_one_address_are_paused(tmp_path, registry_backend):
    registry = make_registry(tmp_path / "r", ADMIN_LIMIT_LOGIN="3 per minute", **registry_backend)
    client = _client(registry, "ru")
    for _ in range(3):
        assert _sign_in(client, "aliya", "guess").status_code == 200
    page = _sign_in(client, "aliya", "guess")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert "Подождите, прежде чем пробовать снова" in page.text


def test_next_is_followed_only_to_a_path_of_this_site(registry, admin):
    client = _client(registry)
    answer = _sign_in(client, query="?next=//evil.example/admin")
    assert answer.headers["Location"] == "/admin/nodes"
    client = _client(registry)
    redirected = client.get("/admin/nodes?lang=kk")
    assert redirected.headers["Location"] == "/admin/login?next=/admin/nodes?lang%3Dkk"
    answer = _sign_in(client, query="?next=/admin/nodes?lang%3Dkk")
    assert answer.headers["Location"] == "/admin/nodes?lang=kk"


def test_every_page_but_sign_in_needs_an_administrator(registry, admin):
    open_to_all = {"registry_admin.login", "registry_admin.logout", "registry_admin.accessibility"}
    guarded = [
        rule
        for rule in registry.url_map.iter_rules()
        if rule.endpoint.startswith("registry_admin.") and rule.endpoint not in open_to_all
    ]
    assert {rule.endpoint for rule in guarded} == {"registry_admin.nodes", "registry_admin.home"}
    client = _client(registry)
    for rule in guarded:
        answer = client.get(rule.rule)
        assert answer.status_code in (301, 302, 303, 308), rule
        assert answer.headers["Location"].startswith("/admin/login"), rule


# Signing out and ending sessions ------------------------------------------------------------


def test_signing_out_ends_every_copy_of_the_session(registry, admin):
    client = _client(registry)
    _sign_in(client)
    copy = _client(registry)
    copy.set_cookie("registry_session", client.get_cookie("registry_session").value)
    assert _signed_in(copy)
    page = client.get("/admin/nodes").text
    answer = client.post("/admin/logout", data={"csrf_token": token(page)})
    assert answer.headers["Location"] == "/admin/login"
    assert "You have signed out." in client.get("/admin/login").text
    assert not _signed_in(client) and not _signed_in(copy)
    assert [event for event, *_ in _audit(registry)] == ["admin_login", "admin_logout"]


def test_a_sign_out_without_its_token_ends_only_this_browsers_session(registry, admin):
    client = _client(registry)
    _sign_in(client)
    copy = _client(registry)
    copy.set_cookie("registry_session", client.get_cookie("registry_session").value)
    client.post("/admin/logout")
    assert not _signed_in(client)
    assert _signed_in(copy)  # a forged form cannot end sessions anywhere else
    assert [event for event, *_ in _audit(registry)] == ["admin_login"]


def test_the_language_and_theme_outlive_signing_in_and_out(registry, admin):
    client = _client(registry)
    page = client.get("/admin/accessibility?lang=ru").text
    data = {"csrf_token": token(page), "theme": "high-contrast", "text_size": "standard"}
    assert client.post("/admin/accessibility", data=data).status_code == 303
    _sign_in(client)
    page = client.get("/admin/nodes").text
    assert '<html lang="ru" class="theme-high-contrast">' in page
    client.post("/admin/logout", data={"csrf_token": token(page)})
    assert '<html lang="ru" class="theme-high-contrast">' in client.get("/admin/login").text


def test_a_session_ends_after_30_idle_minutes(registry, admin):
    client = _client(registry)
    _sign_in(client)
    with client.session_transaction() as session:
        session["admin_seen"] = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    assert not _signed_in(client)


# The accounts' commands ---------------------------------------------------------------------


def test_add_admin_asks_twice_and_the_new_admin_can_sign_in(registry):
    runner = CliRunner()
    env = registry_env(registry)
    result = runner.invoke(
        registry_cli, ["add-admin", "Bauyrzhan"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # the prompt hides what is typed
    assert "Added registry administrator bauyrzhan." in result.output
    assert _sign_in(_client(registry), "bauyrzhan").status_code == 303
    (event, actor, detail), *_ = _audit(registry)
    assert event == "admin_add" and actor and detail == {"username": "bauyrzhan"}


def test_add_admin_takes_the_password_from_stdin_and_refuses_a_bad_one(registry):
    runner = CliRunner()
    env = registry_env(registry)
    command = ["add-admin", "dana", "--password-stdin"]
    assert runner.invoke(registry_cli, command, input=f"{PASSWORD}\n", env=env).exit_code == 0
    again = runner.invoke(registry_cli, command, input=f"{PASSWORD}\n", env=env)
    assert again.exit_code == 1 and "exists already" in again.output
    short = runner.invoke(
        registry_cli, ["add-admin", "erlan", "--password-stdin"], "short\n", env=env
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    typo = runner.invoke(
        registry_cli, ["add-admin", "erlan"], f"{PASSWORD}\nanother one!\n", env=env
    )
    assert typo.exit_code != 0
    with database.connected(registry.config) as db:
        assert [a.username for a in admins.everyone(db)] == ["dana"]
    assert [event for event, *_ in _audit(registry)] == ["admin_add"]


def test_disable_admin_ends_the_open_session_at_once(registry, admin):
    client = _client(registry)
    _sign_in(client)
    env = registry_env(registry)
    result = CliRunner().invoke(registry_cli, ["disable-admin", "ALIYA"], env=env)
    assert result.exit_code == 0, result.output
    assert not _signed_in(client)
    assert _error(_sign_in(client).text) == f"Error: {WRONG}"
    missing = CliRunner().invoke(registry_cli, ["disable-admin", "nobody"], env=env)
    assert missing.exit_code == 1 and "no administrator" in missing.output


def test_enable_admin_lets_a_disabled_admin_sign_in_again_with_their_password(registry, admin):
    runner, env = CliRunner(), registry_env(registry)
    assert runner.invoke(registry_cli, ["disable-admin", "aliya"], env=env).exit_code == 0
    client = _client(registry)
    assert _error(_sign_in(client).text) == f"Error: {WRONG}"
    result = runner.invoke(registry_cli, ["enable-admin", " Aliya "], env=env)
    assert result.exit_code == 0, result.output
    assert "Enabled registry administrator aliya." in result.output
    assert _sign_in(client).status_code == 303 and _signed_in(client)
    enabled = [(event, detail) for event, _actor, detail in _audit(registry)]
    assert ("admin_enable", {"username": "aliya"}) in enabled
    for name in ["nobody", "", "ali ya", "а" * 10_000, "aliyaa", "%"]:
        missing = runner.invoke(registry_cli, ["enable-admin", name], env=env)
        assert missing.exit_code == 1 and "no administrator" in missing.output, name


NEW_PASSWORD = "a new and longer one"


def test_set_admin_password_ends_the_sessions_lifts_the_lock_and_the_new_one_works(registry, admin):
    runner, env = CliRunner(), registry_env(registry)
    open_session = _client(registry)
    _sign_in(open_session)
    stranger = _client(registry)
    for _ in range(admins.MAX_FAILURES):
        _sign_in(stranger, "aliya", "guess")
    assert _error(_sign_in(stranger).text) == f"Error: {LOCKED}"

    command = ["set-admin-password", "ALIYA"]
    result = runner.invoke(
        registry_cli, command, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output  # the prompt hides what is typed
    assert "Set a new password for registry administrator aliya." in result.output
    assert not _signed_in(open_session)  # the old password may be in someone else's hands
    client = _client(registry)
    assert _error(_sign_in(client, "aliya", PASSWORD).text) == f"Error: {WRONG}"
    assert _sign_in(client, "aliya", NEW_PASSWORD).status_code == 303 and _signed_in(client)
    last = [(event, detail) for event, _actor, detail in _audit(registry)]
    assert ("admin_password", {"username": "aliya"}) in last
    assert NEW_PASSWORD not in str(last) and PASSWORD not in str(last)


@pytest.mark.parametrize(
    ("name", "typed", "said"),
    [
        ("aliya", "short\n", "at least 12 characters"),
        ("aliya", "\n", "at least 12 characters"),
        ("aliya", "", "at least 12 characters"),  # nothing on standard input at all
        ("nobody", f"{NEW_PASSWORD}\n", "no administrator"),
        ("", f"{NEW_PASSWORD}\n", "no administrator"),
        ("<script>alert(1)</script>", f"{NEW_PASSWORD}\n", "no administrator"),
        ("a" * 10_000, f"{NEW_PASSWORD}\n", "no administrator"),
    ],
)
def test_set_admin_password_refuses_a_bad_one_and_keeps_the_old(registry, admin, name, typed, said):
    env = registry_env(registry)
    command = ["set-admin-password", name, "--password-stdin"]
    result = CliRunner().invoke(registry_cli, command, input=typed, env=env)
    assert result.exit_code == 1 and said in result.output, result.output
    assert _sign_in(_client(registry), "aliya", PASSWORD).status_code == 303
    assert "admin_password" not in [event for event, *_ in _audit(registry)]


def test_a_huge_password_from_stdin_is_set_and_works(registry, admin):
    huge = "пароль " * 2_000  # Cyrillic and spaces, 14,000 characters
    env = registry_env(registry)
    command = ["set-admin-password", "aliya", "--password-stdin"]
    result = CliRunner().invoke(registry_cli, command, input=huge + "\n", env=env)
    assert result.exit_code == 0, result.output
    assert _sign_in(_client(registry), "aliya", huge).status_code == 303


# The nodes page -----------------------------------------------------------------------------


def _report(now: datetime, **changes) -> dict:
    report = {
        "report": 1,
        "app_version": "1.4.0",
        "clock": now.isoformat(),
        "kiosk_id": "Киоск 3",
        "centre": "Орталық",
        "region": "KZ-75",
        "outbox": {"queued": 0, "sending": 0, "waiting": 0, "delivered": 12, "dead": 0},
        "oldest_waiting_seconds": None,
        "last_delivery_at": None,
        "dead_reasons": [],
        "disk_free_bytes": 50 * 1024**3,
    }
    report.update(changes)
    return report


def _nodes(registry, reports: dict[str, tuple[dict, datetime] | None]) -> None:
    """Register these nodes; each with its report and the time it came, or none (None)."""
    with database.connected(registry.config) as db:
        for node_id, sent in reports.items():
            store.add_node(db, node_id, "key")
            if sent:
                reports_store.record(db, node_id, *sent)


def _every_flag(registry) -> None:
    now = datetime.now(UTC)
    outbox = {"queued": 2, "sending": 0, "waiting": 12343, "delivered": 5, "dead": 3}
    _nodes(
        registry,
        {
            "n-101": (_report(now), now),  # nothing to act on
            "n-102": None,  # silent: never reported
            "n-103": (_report(now - timedelta(hours=25)), now - timedelta(hours=25)),  # silent
            "n-104": (
                _report(
                    now + timedelta(minutes=6),  # clock
                    outbox=outbox,  # dead
                    oldest_waiting_seconds=26 * 3600,  # waiting
                    disk_free_bytes=512 * 1024**2,  # disk
                ),
                now,
            ),
        },
    )


FLAGS = {
    "en": {
        "silent": "No report for more than 24 hours",
        "never": "Has never reported",
        "waiting": "An application has waited more than a day to be sent",
        "dead": "3 applications could not be sent",
        "clock": "The clock is more than 5 minutes off",
        "disk": "The disk is nearly full",
        "nothing": "Nothing to act on",
        "summary": "4 nodes, 3 need attention.",
        "undelivered": "12,345",
        "free": "0.5 GB",
    },
    "kk": {
        "silent": "24 сағаттан астам есеп жоқ",
        "never": "Бірде-бір есеп жібермеген",
        "waiting": "Өтінім бір тәуліктен астам жіберілмей тұр",
        "dead": "3 өтінім жіберілмеді",
        "clock": "Сағаты 5 минуттан астам ауытқыған",
        "disk": "Диск толуға жақын",
        "nothing": "Ештеңе істеудің қажеті жоқ",
        "summary": "4 түйін, оның ішінде 3 түйінге назар аудару керек.",
        "undelivered": "12\xa0345",
        "free": "0,5 ГБ",
    },
    "ru": {
        "silent": "Нет отчётов больше 24 часов",
        "never": "Ни разу не присылал отчёт",
        "waiting": "Заявка ждёт отправки больше суток",
        "dead": "3 заявки не удалось отправить",
        "clock": "Часы расходятся больше чем на 5 минут",
        "disk": "Диск почти заполнен",
        "nothing": "Действий не требуется",
        "summary": "4 узла, из них 3 требуют внимания.",
        "undelivered": "12\xa0345",
        "free": "0,5 ГБ",
    },
}


def _rows(page: str) -> dict[str, str]:
    """Each row of the nodes table as text, by node id, in the page's order."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)[1]
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        node_id = re.search(r'<span translate="no">([^<]+)</span>', row)[1]
        found[node_id] = _text(row)
    return found


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_each_flag_is_said_in_words_in_each_language_flagged_nodes_first(registry, admin, lang):
    _every_flag(registry)
    client = _client(registry, lang)
    _sign_in(client)
    page = client.get("/admin/nodes").text
    said = FLAGS[lang]
    rows = _rows(page)
    assert list(rows) == ["n-102", "n-103", "n-104", "n-101"]
    assert said["never"] in rows["n-102"] and said["silent"] not in rows["n-102"]
    assert said["silent"] in rows["n-103"]
    for flag in ("waiting", "dead", "clock", "disk"):
        assert said[flag] in rows["n-104"], (flag, rows["n-104"])
        assert said[flag] not in rows["n-101"] + rows["n-103"], flag
    assert said["nothing"] in rows["n-101"]
    assert said["summary"] in _text(page)
    assert said["undelivered"] in page and said["free"] in rows["n-104"]


@pytest.mark.parametrize(
    ("lang", "moment", "as_of"),
    [
        ("kk", "2026 жылғы 1 желтоқсан, 15:07", "жағдайы бойынша. Уақыт UTC+5 бойынша"),
        ("ru", "1 декабря 2026 года, 15:07", "Время указано по UTC+5."),
        ("en", "1 December 2026, 15:07", "Times are in UTC+5."),
    ],
)
def test_times_are_almaty_time_written_as_the_language_writes_them(
    registry, admin, lang, moment, as_of
):
    received = datetime(2026, 12, 1, 10, 7, tzinfo=UTC)
    _nodes(registry, {"n-201": (_report(received), received)})
    client = _client(registry, lang)
    _sign_in(client)
    page = client.get("/admin/nodes").text
    assert moment in _rows(page)["n-201"]
    assert as_of in _text(page)


def test_a_region_is_named_in_the_pages_language(registry, admin):
    now = datetime.now(UTC)
    _nodes(registry, {"n-301": (_report(now, region="KZ-11"), now)})
    client = _client(registry)
    _sign_in(client)
    for lang, name in (("kk", "Ақмола облысы"), ("ru", "Акмолинская область")):
        assert name in _rows(client.get(f"/admin/nodes?lang={lang}").text)["n-301"]


def test_a_disabled_node_is_said_to_be_disabled_and_not_flagged(registry, admin):
    _nodes(registry, {"n-401": None})
    with database.connected(registry.config) as db:
        db.execute("UPDATE nodes SET disabled = 1 WHERE node_id = ?", ["n-401"])
    client = _client(registry, "ru")
    _sign_in(client)
    page = client.get("/admin/nodes").text
    assert "Этот узел отключён" in _rows(page)["n-401"]
    assert "1 узел, из них 0 требуют внимания." in _text(page)


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("kk", "Әзірге бірде-бір түйін тіркелмеген."),
        ("ru", "Пока не зарегистрировано ни одного узла."),
        ("en", "No node is registered yet."),
    ],
)
def test_an_empty_registry_says_no_node_is_registered(registry, admin, lang, said):
    client = _client(registry, lang)
    _sign_in(client)
    page = client.get("/admin/nodes").text
    assert said in page and "<table" not in page
    assert '<code lang="en" translate="no">flask registry add-node</code>' in page


def test_the_table_has_a_caption_column_and_row_headers(registry, admin):
    _every_flag(registry)
    client = _client(registry)
    _sign_in(client)
    page = client.get("/admin/nodes").text
    assert re.search(r"<table[^>]*>\s*<caption[^>]*>Every kiosk and website", page)
    head = re.search(r"<thead>(.*?)</thead>", page, re.S)[1]
    assert head.count('<th scope="col">') == 5 and "<td" not in head
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)[1]
    assert body.count('<th scope="row"') == body.count("<tr>") == 4


def test_the_nodes_page_with_everything_it_loads_is_within_30_kb(registry, admin):
    _every_flag(registry)
    client = _client(registry, "kk")
    _sign_in(client)
    page = client.get("/admin/nodes").text
    total = len(page.encode())
    for url in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page):
        loaded = client.get(url)
        assert loaded.status_code == 200, url
        total += len(loaded.data)
    assert total <= 30 * 1024, total


# A page at a time ----------------------------------------------------------------------------

PER_PAGE = admin_nodes.PER_PAGE


def _flagged_and_plain(registry, flagged: int, plain: int, **report) -> None:
    """`flagged` nodes f-01… that have never reported (silent) and `plain` nodes p-01… that
    reported just now with nothing to act on, in one transaction."""
    now = datetime.now(UTC)
    with database.connected(registry.config) as db, db.transaction():
        for n in range(1, flagged + 1):
            store.add_node(db, f"f-{n:02d}", "key")
        for n in range(1, plain + 1):
            store.add_node(db, f"p-{n:02d}", "key")
            reports_store.record(db, f"p-{n:02d}", _report(now, **report), now)


def _title(page: str) -> str:
    return _text(re.search(r"<title>(.*?)</title>", page, re.S)[1])


def _pagination(page: str) -> str | None:
    match = re.search(r'<nav class="pagination"[^>]*>.*?</nav>', page, re.S)
    return match[0] if match else None


def _link(html: str, text: str) -> str | None:
    """The href of the link whose text is `text` (hidden arrows left out), or None."""
    for href, inner in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S):
        if re.sub(r'<span aria-hidden="true">[^<]*</span>', "", inner).strip() == text:
            return href.replace("&amp;", "&")
    return None


def test_the_nodes_come_a_page_at_a_time_flagged_first(registry, admin):
    flagged, plain = PER_PAGE + 2, PER_PAGE + 3  # three pages, the second both kinds
    _flagged_and_plain(registry, flagged, plain)
    client = _client(registry)
    _sign_in(client)
    url, seen, titles = "/admin/nodes", [], []
    while url:
        page = client.get(url)
        assert page.status_code == 200, url
        rows = list(_rows(page.text))
        assert 1 <= len(rows) <= PER_PAGE
        seen += rows
        titles.append(_title(page.text))
        # The summary is of every node, whichever page is shown.
        assert f"{flagged + plain} nodes, {flagged} need attention." in _text(page.text)
        first = len(seen) - len(rows) + 1
        shown = f"Showing nodes {first} to {len(seen)} of {flagged + plain}."
        assert shown in _text(page.text), url
        url = _link(page.text, "Next page")
    expected = [f"f-{n:02d}" for n in range(1, flagged + 1)]
    expected += [f"p-{n:02d}" for n in range(1, plain + 1)]
    assert seen == expected
    assert titles == [
        f"Nodes, page {n} of 3 – Best Social Projects: central registry" for n in (1, 2, 3)
    ]


def test_the_page_links_are_a_named_nav_with_the_current_page_marked(registry, admin):
    _flagged_and_plain(registry, 0, 2 * PER_PAGE + 1)
    client = _client(registry)
    _sign_in(client)
    first, second, last = (client.get(f"/admin/nodes{q}").text for q in ("", "?page=2", "?page=3"))
    nav = _pagination(second)
    assert nav.startswith('<nav class="pagination" aria-label="Pages of the list">')
    [current] = re.findall(r"<[^>]+aria-current[^>]*>.*?</span></span>", nav, re.S)
    assert 'aria-current="page"' in current and _text(current) == "Page 2 2"
    assert not re.search(r"<a [^>]*aria-current", nav)  # text, not a link to itself
    assert _link(nav, "Previous page") == "/admin/nodes"  # page 1 has no number on it
    assert _link(nav, "Next page") == "/admin/nodes?page=3"
    assert re.search(r'<a href="/admin/nodes\?page=3" rel="next">Next page<span', nav)
    numbers = re.findall(r'<a href="([^"]+)" aria-label="([^"]+)">(\d+)</a>', nav)
    assert numbers == [("/admin/nodes", "Page 1", "1"), ("/admin/nodes?page=3", "Page 3", "3")]
    assert _link(_pagination(first), "Previous page") is None
    assert _link(_pagination(last), "Next page") is None
    kazakh = client.get("/admin/nodes?page=2&lang=kk").text
    assert 'aria-label="Тізім беттері"' in kazakh and _link(kazakh, "Алдыңғы бет")
    assert 'aria-label="3-бет"' in kazakh and _link(kazakh, "Келесі бет")


def test_one_page_has_no_page_links(registry, admin):
    _flagged_and_plain(registry, 1, PER_PAGE - 1)
    client = _client(registry)
    _sign_in(client)
    page = client.get("/admin/nodes").text
    assert len(_rows(page)) == PER_PAGE and _pagination(page) is None
    assert "Showing nodes" not in page and _title(page).startswith("Nodes – ")


@pytest.mark.parametrize(
    ("number", "pages", "links"),
    [
        (1, 1, [1]),
        (1, 3, [1, 2, 3]),
        (1, 84, [1, 2, None, 84]),
        (3, 84, [1, 2, 3, 4, None, 84]),
        (5, 84, [1, None, 4, 5, 6, None, 84]),
        (84, 84, [1, None, 83, 84]),
        (4, 7, [1, 2, 3, 4, 5, 6, 7]),  # a gap of one page is that page, not an ellipsis
    ],
)
def test_the_page_links_are_the_first_the_last_and_the_neighbours(number, pages, links):
    assert admin_nodes.page_links(number, pages) == links


def test_a_page_past_the_end_or_not_a_number_is_never_an_error(registry, admin):
    _flagged_and_plain(registry, PER_PAGE + 1, 2 * PER_PAGE - 1)  # 3 pages; attention: 2
    client = _client(registry)
    _sign_in(client)
    past = {"4": "?page=3", "99": "?page=3", "9" * 40: "?page=3"}
    past["99&attention=y"] = "?attention=y&page=2"
    for asked, last in past.items():
        answer = client.get(f"/admin/nodes?page={asked}")
        assert answer.status_code == 302 and answer.headers["Location"] == f"/admin/nodes{last}"
        page = client.get(answer.headers["Location"]).text
        assert "There is no page with that number. This is the last page." in page, asked
    for asked in ("0", "-1", "two", "2.5", "١", "%00", "1e3"):
        answer = client.get(f"/admin/nodes?page={asked}")
        assert answer.status_code == 302 and answer.headers["Location"] == "/admin/nodes", asked
        assert "There is no page" not in client.get("/admin/nodes").text
    unknown = client.get("/admin/nodes?region=KZ-00&attention=y&page=2")
    assert unknown.headers["Location"] == "/admin/nodes?attention=y&page=2"
    # The empty values a GET form sends with "All regions" need no second request.
    assert client.get("/admin/nodes?region=&page=2").status_code == 200


def _filter_nodes(registry) -> None:
    """Flagged and plain nodes in Almaty (KZ-75) and Astana (KZ-71), and one never heard of."""
    now, old = datetime.now(UTC), datetime.now(UTC) - timedelta(hours=30)
    sent = {
        "a-almaty-late": (_report(old, region="KZ-75"), old),
        "b-almaty-fine": (_report(now, region="KZ-75"), now),
        "c-astana-late": (_report(old, region="KZ-71"), old),
        "d-astana-fine": (_report(now, region="KZ-71"), now),
        "e-never": None,
    }
    _nodes(registry, sent)


@pytest.mark.parametrize(
    ("query", "listed", "shown"),
    [
        ("?attention=y", ["a-almaty-late", "c-astana-late", "e-never"], "1 to 3 of 3"),
        ("?region=KZ-75", ["a-almaty-late", "b-almaty-fine"], "1 to 2 of 2"),
        ("?attention=y&region=KZ-71", ["c-astana-late"], "1 to 1 of 1"),
    ],
)
def test_the_filter_keeps_to_nodes_needing_attention_or_one_region(
    registry, admin, query, listed, shown
):
    _filter_nodes(registry)
    client = _client(registry)
    _sign_in(client)
    page = client.get(f"/admin/nodes{query}").text
    assert list(_rows(page)) == listed
    assert f"Showing nodes {shown}." in _text(page)
    assert "5 nodes, 3 need attention." in _text(page)  # the summary is of every node
    form = re.search(
        r'<form method="get" action="/admin/nodes" class="filters">.*?</form>', page, re.S
    )[0]
    checkbox = re.search(r'<input [^>]*id="attention"[^>]*>', form)[0]
    assert ("checked" in checkbox) == ("attention=y" in query)
    chosen = re.findall(r'<option value="([^"]*)" selected>', form)
    assert chosen == [re.search(r"region=([A-Z0-9-]+)", query)[1] if "region" in query else ""]
    options = re.findall(r'<option value="([^"]*)"', form)
    assert options[0] == "" and len(options) == 21 and "KZ-75" in options  # every region
    assert re.search(r'<label class="label" for="region">Region</label>', form)
    assert 'aria-describedby="region-hint"' in form and 'id="region-hint"' in form


def test_the_region_names_and_the_filter_read_in_the_pages_language(registry, admin):
    _filter_nodes(registry)
    client = _client(registry, "kk")
    _sign_in(client)
    page = client.get("/admin/nodes?region=KZ-75").text
    assert '<option value="KZ-75" selected>Алматы қаласы' in page
    assert '<option value="">Барлық өңірлер' in page
    assert "Тек назар аударуды қажет ететін түйіндер" in page
    assert "Барлығы 2 түйін, көрсетілгендері: 1–2." in _text(page)


def test_a_filter_that_matches_nothing_says_so_and_offers_every_node(registry, admin):
    _filter_nodes(registry)
    client = _client(registry, "ru")
    _sign_in(client)
    page = client.get("/admin/nodes?attention=y&region=KZ-19").text
    assert "<table" not in page and _pagination(page) is None
    assert "Ни один узел не подходит под выбранные условия." in page
    assert _link(page, "Показать все узлы") == "/admin/nodes"
    assert "5 узлов, из них 3 требуют внимания." in _text(page)


def test_the_language_switch_keeps_the_page_and_the_filter(registry, admin):
    _flagged_and_plain(registry, 2 * PER_PAGE + 1, 0)
    client = _client(registry)
    _sign_in(client)
    page = client.get("/admin/nodes?attention=y&page=2").text
    switch = re.search(r'<a href="([^"]+)" lang="kk"', page)[1].replace("&amp;", "&")
    assert switch == "/admin/nodes?attention=y&page=2&lang=kk"
    kazakh = client.get(switch)
    assert kazakh.status_code == 200 and '<html lang="kk"' in kazakh.text
    assert list(_rows(kazakh.text)) == list(_rows(page))


# What a page weighs --------------------------------------------------------------------------

SPARE = 2 * 1024  # "well under": room for a longer translation or a longer kiosk name
LONG_CENTRE = (
    "Түркістан облысы әкімдігінің жұмыспен қамтуды үйлестіру және әлеуметтік бағдарламалар"
    " басқармасының «Түркістан облысы Сарыағаш ауданының арнаулы әлеуметтік қызметтер көрсету"
    " орталығы» коммуналдық мемлекеттік мекемесі"
)[: reports_api.LENGTHS["centre"]]


def _build_assets() -> None:
    """The minified stylesheets, as `make run` serves them (scripts/build_assets.py)."""
    spec = importlib.util.spec_from_file_location("build_assets", ROOT / "scripts/build_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build()


def _weight(client, page: str) -> int:
    """The page and everything it loads, as tests/web/test_page_weight.py counts it."""
    total = len(page.encode())
    for url in LOADS.findall(page):
        if url.startswith("data:") or url.endswith(".woff2"):
            continue  # inline, or the two preloaded fonts: exempt
        loaded = client.get(url)
        assert loaded.status_code == 200, url
        total += len(loaded.data)
    return total


def _five_hundred_nodes(registry) -> None:
    """500 nodes, each centre's name as long as a report may carry it, spread over every
    region; the first 150 with every flag at once (the heaviest rows there can be), the
    others with nothing to act on."""
    now, old = datetime.now(UTC), datetime.now(UTC) - timedelta(hours=30)
    codes = list(regions())
    troubled = {
        "outbox": {"queued": 3, "sending": 1, "waiting": 12340, "delivered": 9, "dead": 2345},
        "oldest_waiting_seconds": 40 * 3600,
        "disk_free_bytes": 300 * 1024**2,
    }
    with database.connected(registry.config) as db, db.transaction():
        for n in range(500):
            node_id = f"kz-{n:03d}-sarygash-kiosk"
            store.add_node(db, node_id, "key")
            fields = {"kiosk_id": f"Киоск {n % 9 + 1}", "centre": LONG_CENTRE}
            fields["region"] = codes[n % len(codes)]
            if n < 150:
                report = _report(old + timedelta(minutes=9), **fields, **troubled)
                reports_store.record(db, node_id, report, old)
            else:
                reports_store.record(db, node_id, _report(now, **fields), now)


def test_every_page_of_500_nodes_stays_well_under_30_kb_in_every_language(tmp_path):
    _build_assets()
    registry = make_registry(tmp_path / "registry", ADMIN_LIMIT_LOGIN="1000 per minute")
    with database.connected(registry.config) as db:
        admins.add(db, "aliya", PASSWORD)
    _five_hundred_nodes(registry)
    assert len(LONG_CENTRE) == 200
    pages = math.ceil(500 / PER_PAGE)
    queries = ["", "?page=2", f"?page={pages // 2}", f"?page={pages}", "?attention=y"]
    queries += ["?attention=y&page=2", "?region=KZ-59", "?attention=y&region=KZ-63&page=2"]
    weights = {}
    for lang in ("kk", "ru", "en"):
        client = _client(registry, lang)
        _sign_in(client)
        for query in queries:
            answer = client.get(f"/admin/nodes{query}")
            assert answer.status_code == 200, (lang, query)
            assert len(_rows(answer.text)) >= 1, (lang, query)
            weights[f"{lang} {query or 'page 1'}"] = _weight(client, answer.text)
        first = client.get("/admin/nodes").text
        assert len(_rows(first)) == PER_PAGE and "2345" in first  # every flag, a full page
    heaviest = max(weights, key=weights.get)
    assert weights[heaviest] <= BUDGET - SPARE, (heaviest, weights)


# When the database is away ------------------------------------------------------------------

UNAVAILABLE = {
    "ru": ("Сейчас центральный реестр недоступен", "Попробовать снова"),
    "kk": ("Орталық тізілім қазір қолжетімсіз", "Қайталап көру"),
}


def _in_parallel(**calls) -> dict:
    """Each call in a thread of its own (each waits out the database), their answers by name."""
    answers = {}

    def run(name, call):
        answers[name] = call()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _assert_unavailable_page(answer, lang: str, again: str) -> None:
    """A translated HTML page, 503 with the API's Retry-After, with nothing in English."""
    heading, try_again = UNAVAILABLE[lang]
    assert answer.status_code == 503 and answer.mimetype == "text/html"
    assert answer.headers["Retry-After"] == "30"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    page = answer.text
    assert f'<html lang="{lang}"' in page
    assert re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1] == heading
    assert _title(page).startswith(f"{heading} – ")
    assert _link(page, try_again) == again
    parser = _ReadableText()
    parser.feed(page)
    english = _english_words() - {"english"}
    found = {w for w in re.findall(r"[A-Za-z]{3,}", " ".join(parser.parts)) if w.lower() in english}
    assert not found, found


def test_a_database_locked_too_long_gives_a_page_here_and_json_to_the_api(tmp_path):
    registry = make_registry(tmp_path / "registry", ADMIN_LIMIT_LOGIN="1000 per minute")
    with database.connected(registry.config) as db:
        admins.add(db, "aliya", PASSWORD)
        node_token = store.add_node(db, "node-a", "key")
    client = _client(registry, "ru")
    data = {"csrf_token": token(client.get("/admin/login").text), "username": "aliya"}
    data["password"] = PASSWORD
    now = datetime.now(UTC)
    holder = database.open_database(registry.config)
    holder.execute("BEGIN IMMEDIATE")  # another writer keeps the lock past the busy timeout
    try:
        answers = _in_parallel(
            page=lambda: client.post("/admin/login", data=data),
            api=lambda: registry.test_client().post(
                "/api/v1/nodes/report",
                json=_report(now),
                headers={"Authorization": f"Bearer {node_token}"},
            ),
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _assert_unavailable_page(answers["page"], "ru", "/admin/login")
    api = answers["api"]
    assert api.status_code == 503 and api.mimetype == "application/json"
    assert api.headers["Retry-After"] == "30" and "unavailable" in api.json["error"]
    # Once the lock is gone, the same form signs in.
    assert client.post("/admin/login", data=data).status_code == 303


def test_postgresql_stopped_gives_a_page_here_and_json_to_the_api(tmp_path):
    # A server of this test's own: stopping the session's one would fail every other test.
    with postgres_server() as server:
        registry = make_registry(
            tmp_path / "registry",
            DATABASE_URL=server.create_database(),
            ADMIN_LIMIT_LOGIN="1000 per minute",
        )
        try:
            with database.connected(registry.config) as db:
                admins.add(db, "aliya", PASSWORD)
            client = _client(registry, "kk")
            _sign_in(client)
            assert _signed_in(client)
            server.stop("immediate")
            answers = _in_parallel(
                page=lambda: client.get("/admin/nodes?page=2"),
                api=lambda: registry.test_client().get("/healthz"),
            )
            server.start()
            again = [client.get("/admin/nodes").status_code for _ in range(3)]
        finally:
            database.close_pools()
    _assert_unavailable_page(answers["page"], "kk", "/admin/nodes?page=2")
    # Who is signed in cannot be checked without the database: no one is named.
    assert 'class="staff-bar"' not in answers["page"].text
    api = answers["api"]
    assert api.status_code == 503 and api.mimetype == "application/json"
    assert api.headers["Retry-After"] == "30"
    assert 200 in again  # back as soon as the server is


# Behind a proxy ------------------------------------------------------------------------------


def test_the_trusted_proxy_comes_from_registry_trusted_proxy():
    assert registry_settings({})["TRUSTED_PROXY"] == ""
    given = registry_settings({"REGISTRY_TRUSTED_PROXY": " 127.0.0.1 "})
    assert given["TRUSTED_PROXY"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("trusted", "believed"),
    [("127.0.0.1", True), ("*", True), ("", False), ("10.0.0.9", False)],
    ids=["from the trusted proxy", "any proxy", "no proxy trusted", "another proxy trusted"],
)
def test_sign_in_attempts_count_against_the_client_only_behind_the_trusted_proxy(
    tmp_path, trusted, believed
):
    registry = make_registry(
        tmp_path / "r", ADMIN_LIMIT_LOGIN="3 per minute", TRUSTED_PROXY=trusted
    )
    with database.connected(registry.config) as db:
        admins.add(db, "aliya", PASSWORD)
    guesser, colleague = _client(registry), _client(registry)  # both from 127.0.0.1, the proxy
    guesser.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    colleague.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    for _ in range(3):
        assert _sign_in(guesser, "nobody", "guess").status_code == 200
    assert _sign_in(guesser, "nobody", "guess").status_code == 429
    answer = _sign_in(colleague)
    if believed:  # each person is counted on their own, and audited with their own address
        assert answer.status_code == 303
        assert {detail["address"] for *_, detail in _audit(registry)} == {
            "203.0.113.7",
            "198.51.100.2",
        }
        assert _audit(registry)[-1][:2] == ("admin_login", "aliya")
    else:  # a header anyone can send is not believed: everyone is the one address
        assert answer.status_code == 429
        assert {detail["address"] for *_, detail in _audit(registry)} == {"127.0.0.1"}


class _Browser:
    """HTTPS to nginx from one loopback address of its own (127.0.0.2, 127.0.0.3, …), with
    cookies, as one person's browser: nginx sees each at its own address."""

    def __init__(self, front: str, address: str) -> None:
        parts = urlsplit(front)
        self.front, self.host, self.port = front, parts.hostname, parts.port
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, **headers):
        conn = http.client.HTTPSConnection(
            self.host, self.port, source_address=(self.address, 0), context=ssl_context()
        )
        headers |= {"Referer": f"{self.front}{path}", "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = urlencode(form) if form is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode()
        finally:
            conn.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return answer.status, text

    def sign_in(self, username: str, password: str, **headers) -> int:
        _status, page = self.request("GET", "/admin/login")
        form = {"csrf_token": token(page), "username": username, "password": password}
        return self.request("POST", "/admin/login", form, **headers)[0]


@contextmanager
def _gunicorn_registry(folder: Path) -> Iterator[str]:
    """The registry as deployed on Linux (deploy/gunicorn.conf.py), one worker, its URL."""
    served = GunicornRegistry(folder, "", workers=1)
    served.env["REGISTRY_TRUSTED_PROXY"] = "127.0.0.1"
    served.start()
    try:
        yield f"http://127.0.0.1:{served.port}"
    finally:
        served.stop()


@pytest.mark.parametrize("server", ["gunicorn", "waitress"])
def test_behind_nginx_each_client_is_limited_and_audited_at_its_own_address(tmp_path, server):
    folder = tmp_path / "registry"
    if server == "gunicorn":  # what it reads from REGISTRY_*: the limit is the default one
        registry, limit = make_registry(folder), 10
        upstream = _gunicorn_registry(folder)
    else:  # python run.py registry: waitress with kiosk.serving's options
        registry = make_registry(
            folder, TRUSTED_PROXY="127.0.0.1", ADMIN_LIMIT_LOGIN="3 per minute"
        )
        limit, upstream = 3, waitress(registry)
    with database.connected(registry.config) as db:
        admins.add(db, "aliya", PASSWORD)
    with upstream as url, nginx(url, site=REGISTRY_SITE) as front:
        guesser, colleague = _Browser(front.url, "127.0.0.2"), _Browser(front.url, "127.0.0.3")
        # The guesser's own X-Forwarded-For is not believed: nginx sets the address it saw.
        pretend = {"X-Forwarded-For": "127.0.0.3"}
        statuses = [guesser.sign_in("nobody", "guess", **pretend) for _ in range(limit + 1)]
        assert statuses == [200] * limit + [429]
        assert colleague.sign_in("aliya", PASSWORD) == 303
        assert colleague.request("GET", "/admin/nodes")[0] == 200
    audited = [(event, detail["address"]) for event, _actor, detail in _audit(registry)]
    assert audited == [("admin_login_failed", "127.0.0.2")] * limit + [("admin_login", "127.0.0.3")]


# Nothing left in English ---------------------------------------------------------------------


class _ReadableText(HTMLParser):
    """What a person reads or hears, leaving out what is marked translate="no" (node ids,
    the command to type) and <title>'s separator; text nodes and labelling attributes."""

    ATTRIBUTES = {"aria-label", "title", "alt", "placeholder"}
    VOID = {"br", "input", "link", "meta", "img", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.parts += [v for k, v in attrs if k in self.ATTRIBUTES and v]
        if tag not in self.VOID:
            skipped = bool(self.stack and self.stack[-1])
            self.stack.append(skipped or values.get("translate") == "no" or tag == "style")

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def _pages(registry, lang: str) -> dict[str, str]:
    """Every page of the registry's administration, and its error states, in `lang`."""
    client = _client(registry, lang)
    pages = {"sign in": client.get("/admin/login").text}
    pages["sign in · empty"] = _sign_in(client, "", "").text
    pages["sign in · wrong"] = _sign_in(client, "aliya", "guess").text
    client.get("/admin/login")
    pages["sign in · expired"] = client.post("/admin/login", data={}).text
    pages["accessibility settings"] = client.get("/admin/accessibility").text
    form = token(pages["accessibility settings"])
    bad = {"csrf_token": form, "theme": "x", "text_size": "x"}
    pages["accessibility settings · invalid"] = client.post("/admin/accessibility", data=bad).text
    _sign_in(client)
    pages["nodes · empty"] = client.get("/admin/nodes").text
    _every_flag(registry)
    pages["nodes"] = client.get("/admin/nodes").text
    _flagged_and_plain(registry, 0, 2 * PER_PAGE)
    pages["nodes · page 2"] = client.get("/admin/nodes?page=2").text
    pages["nodes · a region, only those needing attention"] = client.get(
        "/admin/nodes?attention=y&region=KZ-75"
    ).text
    pages["nodes · nothing matches"] = client.get("/admin/nodes?attention=y&region=KZ-19").text
    client.get("/admin/nodes?page=99")
    pages["nodes · past the last page"] = client.get("/admin/nodes?page=3").text
    client.post("/admin/logout", data={"csrf_token": token(pages["nodes"])})
    pages["signed out"] = client.get("/admin/login").text
    registry.config["ADMIN_LIMIT_LOGIN"] = "1 per hour"
    _sign_in(client, "aliya", "guess")
    pages["please wait"] = _sign_in(client, "aliya", "guess").text
    registry.config["ADMIN_LIMIT_LOGIN"] = "100 per minute"
    return pages


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_pages_in_kazakh_and_russian_have_no_english_left(registry, admin, lang):
    english = _english_words() - {"english"}  # the language's own name, in the switch
    for name, page in _pages(registry, lang).items():
        assert f'<html lang="{lang}"' in page, name
        parser = _ReadableText()
        parser.feed(page)
        text = REFERENCE.sub(" ", " ".join(parser.parts))
        found = {w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() in english}
        assert not found, f"{lang} page {name!r} has English: {sorted(found)}"


def test_every_string_of_the_pages_is_translated_in_kazakh_and_russian():
    """Each msgid in the registry's pages (extracted as `make translations` does) has a kk
    and a ru translation that is not fuzzy, every plural form filled."""
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None}
    keywords |= {"lazy_gettext": None, "plural": (1, 2)}
    sources = [
        ("python", ROOT / f"kiosk/registry/{name}.py")
        for name in ("admin_views", "admin_nodes", "admin_forms")
    ]
    sources += [
        ("jinja2.ext:babel_extract", path) for path in (ROOT / "templates/registry").glob("*.html")
    ]
    sources += [("python", ROOT / "kiosk/preferences.py")]
    wanted = set()
    for method, path in sources:
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords):
            wanted.add(message if isinstance(message, str) else message[0])
    assert len(wanted) > 40 and "Needs attention" in wanted and "%(num)s node" in wanted
    for code in ("kk", "ru"):
        with (ROOT / f"translations/{code}/LC_MESSAGES/messages.po").open("rb") as file:
            catalog = {
                (m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(file) if m.id
            }
        for msgid in sorted(wanted):
            message = catalog.get(msgid)
            assert message is not None, f"{msgid!r} is not in the {code} catalog"
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(s.strip() for s in strings), f"{msgid!r} is not translated in {code}"
            assert "fuzzy" not in message.flags, f"{msgid!r} is fuzzy in {code}"
