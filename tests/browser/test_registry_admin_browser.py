"""The registry's administration pages in a real browser, served as they are deployed: waitress
behind nginx over HTTPS (tests/nginx.py).

axe-core (the AA tags and best-practice, plus AAA contrast in high contrast, undecided contrast
measured: conftest.axe_problems) on the sign-in page, its error states, the nodes page with
flagged nodes and the empty one, and the nodes page of a registry with several pages (page 2,
the filter on with a region chosen, its second page, a filter nothing matches), in kk, ru and
en and every theme, each theme saved through the pages' own settings form; reflow at 320 px and
200 % text where the node's pages are measured; signing in and out with the keyboard alone,
and the paged page's filter and page links, every stop's focus visible; and the whole of it
with JavaScript turned off.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from kiosk.registry import admin_nodes, admins, database, reports_store, store
from tests.browser.conftest import (
    CACHED,
    LANGUAGES,
    REFLOW_CONDITIONS,
    SHORT,
    THEMES,
    axe_problems,
    follow_link,
    measure_reflow,
    open_next_page,
    page_state,
    press_main_button,
    set_answers,
)
from tests.browser.test_keyboard import Keyboard
from tests.forwarding import make_registry
from tests.nginx import behind_nginx, waitress

PASSWORD = "correct horse battery"
AXE_TABLE = (
    "axe-core, the registry's administration pages × language and theme\n"
    "  AA = no violation of wcag2a/2aa/21a/21aa/22aa/best-practice; AAA = also none of"
    " color-contrast-enhanced; FAIL = violations or reflow problems"
)


@contextmanager
def _serve_registry(**config):
    """A registry with one administrator, served by waitress: (app, its own URL)."""
    folder = Path(tempfile.mkdtemp(prefix="registry-browser-"))
    app = make_registry(
        folder,
        # Cookies belong to a host, not a port: each server needs a cookie name of its own.
        SESSION_COOKIE_NAME=f"registry_{folder.name}",
        ADMIN_LIMIT_LOGIN="1000 per minute",
        **CACHED,
        **config,
    )
    with database.connected(app.config) as db:
        admins.add(db, "aliya", PASSWORD)
    try:
        with waitress(app) as url:
            yield app, url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _site():
    with behind_nginx(_serve_registry) as (app, front):
        # localhost, not 127.0.0.1: a kiosk test's Clear-Site-Data, which Chromium carries out
        # in the background for a whole host, cannot reach this site's cookies.
        yield app, front.url.replace("://127.0.0.1:", "://localhost:")


def _report(now: datetime, **changes) -> dict:
    report = {
        "report": 1,
        "app_version": "1.4.0",
        "clock": now.isoformat(),
        "kiosk_id": "Киоск 3",
        "centre": "Шымкент қаласының әлеуметтік қызмет көрсету орталығы",
        "region": "KZ-79",
        "outbox": {"queued": 0, "sending": 0, "waiting": 0, "delivered": 12, "dead": 0},
        "oldest_waiting_seconds": None,
        "last_delivery_at": None,
        "dead_reasons": [],
        "disk_free_bytes": 50 * 1024**3,
    }
    return {**report, **changes}


def _add_nodes(app) -> None:
    """Nodes with every flag, one with nothing to act on and one disabled."""
    now = datetime.now(UTC)
    old = now - timedelta(hours=30)
    troubled = _report(
        now + timedelta(minutes=9),
        outbox={"queued": 3, "sending": 1, "waiting": 12340, "delivered": 900, "dead": 2},
        oldest_waiting_seconds=40 * 3600,
        disk_free_bytes=300 * 1024**2,
    )
    with database.connected(app.config) as db:
        for node_id, sent in [
            ("n-101", (_report(now), now)),
            ("n-102", None),
            ("n-103", (_report(old), old)),
            ("n-104", (troubled, now)),
            ("n-105", None),
        ]:
            store.add_node(db, node_id, "key")
            if sent:
                reports_store.record(db, node_id, *sent)
        db.execute("UPDATE nodes SET disabled = 1 WHERE node_id = 'n-105'")


PER_PAGE = admin_nodes.PER_PAGE
# Long Kazakh words, as a centre's full name has them: they must wrap, not push the page wide.
LONG_CENTRE = (
    "Шымкент қаласы әкімдігінің жұмыспен қамтуды үйлестіру және әлеуметтік бағдарламалар"
    " басқармасының арнаулы әлеуметтік қызметтер көрсету орталығы"
)


def _add_many_nodes(app) -> None:
    """Three pages of nodes: PER_PAGE + 2 in Shymkent that have not reported for 30 hours,
    PER_PAGE in Almaty and 3 in Shymkent with nothing to act on."""
    now = datetime.now(UTC)
    old = now - timedelta(hours=30)
    places = [("s", "KZ-79", old)] * (PER_PAGE + 2) + [("a", "KZ-75", now)] * PER_PAGE
    places += [("t", "KZ-79", now)] * 3
    with database.connected(app.config) as db, db.transaction():
        for n, (prefix, region, sent) in enumerate(places):
            node_id = f"{prefix}-{n:03d}"
            store.add_node(db, node_id, "key")
            report = _report(sent, region=region, centre=LONG_CENTRE, kiosk_id=f"Киоск {n}")
            reports_store.record(db, node_id, report, sent)


@pytest.fixture(scope="module")
def registry_site():
    with _site() as (app, url):
        _add_nodes(app)
        yield url


@pytest.fixture(scope="module")
def empty_registry_site():
    with _site() as (_app, url):
        yield url


@pytest.fixture(scope="module")
def paged_registry_site():
    with _site() as (app, url):
        _add_many_nodes(app)
        yield url


def _choose(driver, base: str, lang: str, theme: str) -> None:
    """A fresh session in `lang`, the theme saved through the pages' own settings form."""
    settings, html_class = THEMES[theme]
    driver.delete_all_cookies()
    driver.get(f"{base}/admin/accessibility?lang={lang}")
    set_answers(driver, settings)
    press_main_button(driver)
    state = page_state(driver)
    assert state["path"] == "/admin/login" and state["lang"] == lang, state  # nodes: sign in
    assert state["classes"] == html_class, state


def _sign_in(driver, username: str, password: str) -> None:
    set_answers(driver, {"username": username, "password": password})
    press_main_button(driver)


def _walk(driver, base: str, lang: str, theme: str, empty: bool):
    """Each page and state of the walk, yielded as a label once it is loaded."""
    _choose(driver, base, lang, theme)
    if not empty:
        yield "sign in"
        _sign_in(driver, "", "")
        assert page_state(driver)["errors"]
        yield "sign in · empty"
        _sign_in(driver, f"nobody-{lang}-{SHORT[theme]}", "a wrong password")
        assert page_state(driver)["errors"]
        yield "sign in · wrong user name or password"
        driver.get(f"{base}/admin/accessibility")
        yield "accessibility settings"
        driver.get(f"{base}/admin/login")
    _sign_in(driver, "aliya", PASSWORD)
    state = page_state(driver)
    assert state["path"] == "/admin/nodes" and not state["errors"], state
    yield "nodes · empty registry" if empty else "nodes · flagged first"
    if not empty:
        follow_link(driver, ".staff-bar__button")  # Sign out
        assert page_state(driver)["path"] == "/admin/login"
        yield "signed out"


def _query(driver) -> str:
    return driver.execute_script("return location.search")


def _walk_pages(driver, base: str, lang: str, theme: str):
    """The nodes page of a registry with three pages: page links, the filter and its pages."""
    _choose(driver, base, lang, theme)
    _sign_in(driver, "aliya", PASSWORD)
    assert page_state(driver)["path"] == "/admin/nodes"
    yield "nodes · page 1"
    follow_link(driver, "main a[rel=next]")
    assert _query(driver) == "?page=2"
    yield "nodes · page 2"
    set_answers(driver, {"attention": "y", "region": "KZ-79"})
    press_main_button(driver)  # Show nodes
    assert _query(driver) == "?attention=y&region=KZ-79"
    yield "nodes · needing attention in one region"
    follow_link(driver, "main a[rel=next]")
    assert _query(driver) == "?attention=y&region=KZ-79&page=2"
    yield "nodes · needing attention in one region, page 2"
    set_answers(driver, {"attention": "y", "region": "KZ-19"})
    press_main_button(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "main table")
    yield "nodes · nothing matches"


def _check(driver, coverage, lang: str, theme: str, pages) -> list[str]:
    failures = []
    aaa = theme == "high contrast"
    for label in pages:
        state = page_state(driver)
        assert (state["lang"], state["classes"]) == (lang, THEMES[theme][1]), (label, state)
        problems = axe_problems(driver, aaa=aaa)
        problems += [
            f"{condition}: {problem}"
            for condition in REFLOW_CONDITIONS[theme]
            for problem in measure_reflow(driver, condition)
        ]
        mark = "FAIL" if problems else "AAA" if aaa else "AA"
        coverage.record(AXE_TABLE, label, f"{lang} {SHORT[theme]}", mark)
        failures += [f"{label}: {problem}" for problem in problems]
    return failures


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pages_pass_axe_in_every_language_and_theme(
    registry_site, empty_registry_site, paged_registry_site, browser, coverage, lang, theme
):
    failures = []
    for base, empty in ((registry_site, False), (empty_registry_site, True)):
        walk = _walk(browser, base, lang, theme, empty)
        failures += _check(browser, coverage, lang, theme, walk)
    walk = _walk_pages(browser, paged_registry_site, lang, theme)
    failures += _check(browser, coverage, lang, theme, walk)
    assert not failures, "\n".join(failures)


_WIDTHS = """
const width = (el) => el.getBoundingClientRect().width;
const main = document.querySelector("main");
const cells = [...main.querySelectorAll("caption, tbody th, tbody td")];
return {main: width(main), narrowest: Math.min(...cells.map(width)), cells: cells.length};
"""


def test_at_320_px_the_table_reads_in_lines_not_a_letter_a_line(paged_registry_site, browser):
    """Laid out as blocks on a narrow screen (staff.css), the caption and every cell take the
    width of the page: a caption left as a table caption had no width, one letter a line."""
    _choose(browser, paged_registry_site, "kk", "standard")
    _sign_in(browser, "aliya", PASSWORD)
    metrics = {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        browser.get(f"{paged_registry_site}/admin/nodes?page=2")
        widths = browser.execute_script(_WIDTHS)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert widths["cells"] == 1 + 5 * PER_PAGE, widths
    assert widths["narrowest"] >= 0.9 * widths["main"], widths


def test_the_nodes_page_says_every_flag_in_words(registry_site, browser):
    browser.delete_all_cookies()
    browser.get(f"{registry_site}/admin/login?lang=en")
    _sign_in(browser, "aliya", PASSWORD)
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")]
    assert [row.split()[0] for row in rows] == ["n-102", "n-103", "n-104", "n-101", "n-105"]
    for words in (
        "An application has waited more than a day to be sent",
        "2 applications could not be sent",
        "The clock is more than 5 minutes off",
        "The disk is nearly full",
    ):
        assert words in rows[2], (words, rows[2])
    assert "Has never reported" in rows[0] and "No report for more than 24 hours" in rows[1]
    assert "12,344" in rows[2] and "0.3 GB" in rows[2]
    assert "This node is disabled" in rows[4] and "Nothing to act on" in rows[3]
    summary = browser.find_element(By.CSS_SELECTOR, "main .lead").text
    assert summary == "5 nodes, 3 need attention."


# The keyboard alone ---------------------------------------------------------------------------

_TABBABLE = """
const sel = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex='0']";
return [...document.querySelectorAll(sel)].filter((el) => {
  const r = el.getBoundingClientRect();
  return !el.disabled && r.width > 0 && r.height > 0 || el.matches(".skip-link");
}).length;
"""


def _every_stop(kb: Keyboard) -> None:
    """Tab to the page's last stop and Shift+Tab back to the skip link, each focus visible."""
    count = kb.driver.execute_script(_TABBABLE)
    down = [kb.tab() for _ in range(count)]
    assert "skip-link" in down[0]["cls"], down[0]
    up = [down[-1]] + [kb.tab(back=True) for _ in range(count - 1)]
    assert "skip-link" in up[-1]["cls"], up[-1]


@pytest.mark.parametrize("theme", ["standard", "high contrast"])
def test_signing_in_and_out_with_the_keyboard_alone(registry_site, browser, coverage, theme):
    driver = browser
    _choose(driver, registry_site, "kk", theme)
    kb = Keyboard(driver, coverage, f"registry kk {SHORT[theme]}")
    driver.get(f"{registry_site}/admin/login")
    _every_stop(kb)
    driver.get(f"{registry_site}/admin/login")
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["name"] == "username")
    kb.type("aliya")
    stop = kb.tab()
    assert stop["name"] == "password"
    kb.type(PASSWORD)
    kb.enter_page()  # Enter in the password field sends the form
    assert kb.page() == "/admin/nodes"
    assert "Түйіндер" in driver.find_element(By.TAG_NAME, "h1").text
    # Signed in from #main (the skip link's), the redirect keeps it and Tab starts in <main>,
    # at the filter: open the page afresh to go round it from the top.
    driver.get(f"{registry_site}/admin/nodes")
    _every_stop(kb)
    driver.get(f"{registry_site}/admin/nodes")  # Sign out is in the header, before <main>
    sign_out = kb.tab_to(lambda stop: stop["tag"] == "button")
    assert sign_out["text"] == "Шығу", sign_out
    kb.enter_page(Keys.SPACE)
    assert kb.page() == "/admin/login"
    assert "Сіз жүйеден шықтыңыз." in driver.find_element(By.TAG_NAME, "main").text


@pytest.mark.parametrize("theme", ["standard", "high contrast"])
def test_the_filter_and_the_page_links_with_the_keyboard_alone(
    paged_registry_site, browser, coverage, theme
):
    driver, base = browser, paged_registry_site
    _choose(driver, base, "ru", theme)
    _sign_in(driver, "aliya", PASSWORD)
    kb = Keyboard(driver, coverage, f"registry ru {SHORT[theme]}")
    driver.get(f"{base}/admin/nodes?page=2")
    _every_stop(kb)  # the filter, the page links, Previous and Next: every focus visible
    driver.get(f"{base}/admin/nodes")
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["id"] == "attention")
    stop = kb.press(Keys.SPACE)
    assert stop["checked"], stop
    stop = kb.tab()
    assert stop["id"] == "region" and stop["tag"] == "select", stop
    for _ in range(3):  # All regions, Astana, Almaty, Shymkent: arrows choose in a closed select
        kb.press(Keys.ARROW_DOWN)
    assert kb.focus()["value"] == "KZ-79"
    stop = kb.tab()
    assert stop["text"] == "Показать узлы", stop
    kb.enter_page()
    assert _query(driver) == "?attention=y&region=KZ-79"
    rows = driver.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert len(rows) == PER_PAGE and all(row.text.startswith("s-") for row in rows)
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["text"].startswith("Следующая страница"))
    kb.enter_page()
    assert _query(driver) == "?attention=y&region=KZ-79&page=2"
    current = driver.find_element(By.CSS_SELECTOR, "main [aria-current=page]")
    hidden, shown = current.find_elements(By.CSS_SELECTOR, "span")
    assert hidden.get_attribute("textContent") == "Страница 2" and shown.text == "2"


def test_a_wrong_password_with_the_keyboard_lands_on_the_error_summary(registry_site, browser):
    driver = browser
    driver.delete_all_cookies()
    driver.get(f"{registry_site}/admin/login?lang=ru")
    kb = Keyboard(driver, _NoCoverage(), "")
    # Tabbed to from the top: after the skip link the address ends in #main, and a page opened
    # at a fragment gives focus to it instead of to what has autofocus.
    kb.tab_to(lambda stop: stop["name"] == "username")
    kb.type("aliya")
    kb.tab()
    kb.type("not the password")
    kb.enter_page()
    focused = kb.focus()
    assert "error-summary" in focused["cls"], focused  # autofocus: read out first
    link = kb.tab()
    assert link["href"] == "#password" and "Неверное имя пользователя или пароль" in link["text"], (
        link
    )
    kb.press(Keys.ENTER)
    assert kb.focus()["name"] == "password"


class _NoCoverage:
    def record(self, *_args) -> None:
        pass


# Without JavaScript ---------------------------------------------------------------------------


def test_everything_works_without_javascript(registry_site, browser_without_js):
    driver = browser_without_js
    driver.delete_all_cookies()
    driver.get(f"{registry_site}/admin/nodes?lang=en")
    assert page_state(driver)["path"] == "/admin/login"
    assert not driver.execute_script("return document.querySelectorAll('script').length")
    driver.find_element(By.ID, "username").send_keys("aliya")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    button = driver.find_element(By.CSS_SELECTOR, "main button[type=submit]")
    open_next_page(driver, button.click)
    assert page_state(driver)["path"] == "/admin/nodes"  # back where the person was going
    assert "3 need attention" in driver.find_element(By.CSS_SELECTOR, "main .lead").text
    ru = driver.find_element(By.CSS_SELECTOR, "a[hreflang=ru]")
    open_next_page(driver, ru.click)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Узлы"
    sign_out = driver.find_element(By.CSS_SELECTOR, ".staff-bar__button")
    open_next_page(driver, sign_out.click)
    assert page_state(driver)["path"] == "/admin/login"
    driver.get(f"{registry_site}/admin/nodes")
    assert page_state(driver)["path"] == "/admin/login"  # signed out for good


def test_the_filter_and_the_pages_work_without_javascript(paged_registry_site, browser_without_js):
    driver = browser_without_js
    driver.delete_all_cookies()
    driver.get(f"{paged_registry_site}/admin/login?lang=en")
    driver.find_element(By.ID, "username").send_keys("aliya")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    open_next_page(driver, driver.find_element(By.CSS_SELECTOR, "main button").click)
    driver.find_element(By.CSS_SELECTOR, "label[for=attention]").click()
    Select(driver.find_element(By.ID, "region")).select_by_visible_text("Shymkent")
    button = driver.find_element(By.CSS_SELECTOR, "main button[type=submit]")
    open_next_page(driver, button.click)
    assert _query(driver) == "?attention=y&region=KZ-79"
    summary = driver.find_element(By.CSS_SELECTOR, "main .lead").text
    assert summary == f"{2 * PER_PAGE + 5} nodes, {PER_PAGE + 2} need attention."
    shown = f"Showing nodes 1 to {PER_PAGE} of {PER_PAGE + 2}."
    assert shown in driver.find_element(By.TAG_NAME, "main").text
    next_page = driver.find_element(By.LINK_TEXT, "Next page →")
    open_next_page(driver, next_page.click)
    assert _query(driver) == "?attention=y&region=KZ-79&page=2"
    assert len(driver.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 2
    assert driver.find_element(By.ID, "attention").is_selected()  # the filter is kept
