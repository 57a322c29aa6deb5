"""The registry's administration pages (kiosk/registry/admin_views.py), on SQLite and PostgreSQL.

Signing in (right, wrong, disabled, locked out, without a form token, too often), signing
out, every page behind the sign-in, the accounts' commands, and the nodes page: every
flag said in words in each language, flagged nodes first, counts and times as the
page's language writes them, the empty registry, and no English left on a Kazakh or
Russian page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from click.testing import CliRunner

from kiosk.registry import admins, audit_log, database, reports_store, store
from kiosk.registry.cli import registry_cli
from tests.forwarding import make_registry, registry_env
from tests.helpers import token
from tests.web.test_languages import REFERENCE, _english_words

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
        ("python", ROOT / f"kiosk/registry/{name}.py") for name in ("admin_views", "admin_forms")
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
