"""Kiosk mode and staff pages in a real browser: idle warning, start again, touch targets,
and axe-core on the staff pages in all three languages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from kiosk.db import connect
from kiosk.staff import accounts
from tests.browser.conftest import (
    axe_problems,
    press_main_button,
    serve_app,
    set_answers,
    settle_site_data,
)
from tests.helpers import answers_for

LANGUAGES = ("kk", "ru", "en")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def quick_kiosk():
    """A kiosk whose idle warning comes after 2 s and gives 3 s to answer."""
    with serve_app(SECRET_KEY="q", KIOSK_MODE=True, IDLE_SECONDS=2, GRACE_SECONDS=3) as served:
        yield served


@pytest.fixture(scope="module")
def kiosk_site():
    with serve_app(SECRET_KEY="k", KIOSK_MODE=True) as served:
        yield served


@pytest.fixture(scope="module")
def staff_site():
    # Documents off: this walk drives the assisted journey by its main buttons, question after
    # question; the documents page has its own tests (test_documents_browser.py).
    with serve_app(SECRET_KEY="s", DOCUMENTS=False) as (app, url):
        with app.test_request_context("/"):
            accounts.add("worker", "Айгерім Серікова", "social_worker", "Алматы", PASSWORD)
            accounts.add("admin", "Ержан Әбілов", "admin", "", PASSWORD)
        yield app, url


def _fresh(driver, base: str, path: str, kiosk: bool = True) -> None:
    """A fresh session on `path`; on a kiosk, once earlier site-data clearing has ended."""
    if kiosk:
        settle_site_data(driver, base)
    driver.get(base + "/healthz")
    driver.delete_all_cookies()
    driver.get(base + path)


def _dialog_open(driver) -> bool:
    return driver.execute_script("return document.getElementById('idle-warning').open")


def test_idle_warning_takes_focus_is_announced_and_can_be_extended_ten_times(quick_kiosk, browser):
    app, base = quick_kiosk
    _fresh(browser, base, "/apply/applicant-type?lang=en")
    set_answers(browser, {"applicant_type": "ngo"})
    press_main_button(browser)
    for _ in range(10):
        WebDriverWait(browser, 10, poll_frequency=0.05).until(_dialog_open)
        focused = browser.switch_to.active_element
        assert "idle-warning__more" in focused.get_attribute("class")
        live = browser.find_element(By.CSS_SELECTOR, ".idle-warning__time")
        assert live.get_attribute("aria-live") == "assertive"
        assert "Your answers will be deleted in" in live.text
        focused.click()
        assert not _dialog_open(browser)
    assert urlsplit(browser.current_url).path == "/apply/organisation"
    assert connect(app.config["DATABASE"])["drafts"].count == 1


def test_no_answer_deletes_the_draft_and_returns_to_the_first_screen(quick_kiosk, browser):
    app, base = quick_kiosk
    _fresh(browser, base, "/apply/applicant-type?lang=kk")
    set_answers(browser, {"applicant_type": "individual"})
    press_main_button(browser)
    db = connect(app.config["DATABASE"])
    newest = db.execute("SELECT id FROM drafts ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    WebDriverWait(browser, 10, poll_frequency=0.1).until(lambda d: d.current_url.endswith("/kiosk"))
    assert db.execute("SELECT COUNT(*) FROM drafts WHERE id = ?", [newest]).fetchone()[0] == 0
    browser.back()  # nothing comes back
    assert "Серікова" not in browser.page_source
    db.close()


def test_start_again_deletes_the_draft_and_nothing_comes_back(kiosk_site, browser):
    app, base = kiosk_site
    _fresh(browser, base, "/apply/applicant-type?lang=ru")
    for slug, data in answers_for("individual")[:2]:
        assert urlsplit(browser.current_url).path == f"/apply/{slug}"
        set_answers(browser, data)
        press_main_button(browser)
    db = connect(app.config["DATABASE"])
    assert db["drafts"].count == 1
    browser.find_element(By.CSS_SELECTOR, ".header__link--start-again").click()
    press_main_button(browser)  # "Yes, delete my answers"
    assert browser.current_url.endswith("/kiosk")
    assert db["drafts"].count == 0
    for _ in range(2):
        browser.back()
    source = browser.page_source
    assert "Әлия" not in source and "880215" not in source
    db.close()


def _targets(driver) -> list[dict]:
    return driver.execute_script(
        """
        const out = [];
        const sel = "a[href], button, input:not([type=hidden]), select, textarea, summary";
        for (const el of document.querySelectorAll(sel)) {
          const r = el.getBoundingClientRect();
          const style = getComputedStyle(el);
          if (!r.width || !r.height || style.visibility === "hidden") continue;
          if (el.closest("dialog:not([open])") || el.closest(".skip-link")) continue;
          out.push({name: (el.textContent || el.name || el.id || el.tagName).trim().slice(0, 40),
                    id: el.id, label: el.labels && el.labels[0] ? el.labels[0].htmlFor : null,
                    x: r.left, y: r.top, w: r.width, h: r.height});
        }
        return {targets: out, body: parseFloat(getComputedStyle(document.body).fontSize)};
        """
    )


def _gap(a: dict, b: dict) -> float:
    dx = max(b["x"] - (a["x"] + a["w"]), a["x"] - (b["x"] + b["w"]), 0)
    dy = max(b["y"] - (a["y"] + a["h"]), a["y"] - (b["y"] + b["h"]), 0)
    return max(dx, dy)


def _check_targets(driver, page: str) -> list[str]:
    """Touch targets and text size on this page, and axe-core's findings."""
    measured = _targets(driver)
    problems = [f"{page}: {problem}" for problem in axe_problems(driver)]
    if measured["body"] < 20:
        problems.append(f"{page}: body text {measured['body']} px")
    targets = measured["targets"]
    for target in targets:
        if target["w"] < 47.5 or target["h"] < 47.5:
            problems.append(f"{page}: {target['name']!r} is {target['w']:.0f}×{target['h']:.0f}")
    for i, a in enumerate(targets):
        for b in targets[i + 1 :]:
            if _gap(a, b) < 7.5:
                problems.append(
                    f"{page}: {a['name']!r} and {b['name']!r} {_gap(a, b):.1f} px apart"
                )
    return problems


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kiosk_page_has_large_targets_and_no_axe_violations(kiosk_site, browser, lang):
    """Every page and error state of a kiosk journey: targets, text size, and axe-core."""
    _app, base = kiosk_site
    problems = []
    _fresh(browser, base, "/kiosk")
    problems += _check_targets(browser, "welcome")
    browser.get(f"{base}/kiosk/help?lang={lang}")
    problems += _check_targets(browser, "help")
    press_main_button(browser)
    problems += _check_targets(browser, "start")
    browser.get(base + "/apply/applicant-type")
    for slug, data in answers_for("ngo"):
        problems += _check_targets(browser, slug)
        press_main_button(browser)  # empty: the error state
        problems += _check_targets(browser, f"{slug} (error)")
        set_answers(browser, data)
        press_main_button(browser)
    for page in ("check", "declaration"):
        problems += _check_targets(browser, page)
        if page == "declaration":
            set_answers(browser, {"consent": "y"})
        press_main_button(browser)
    problems += _check_targets(browser, "confirmation")
    for path in ("/apply/receipt", "/start-again?back=/", "/status", "/accessibility"):
        browser.get(base + path)
        problems += _check_targets(browser, path)
    assert problems == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_kiosk_screens_have_no_axe_violations(kiosk_site, browser, lang):
    _app, base = kiosk_site
    _fresh(browser, base, f"/kiosk?lang={lang}")
    problems = axe_problems(browser)
    browser.get(f"{base}/kiosk/help")
    problems += axe_problems(browser)
    browser.get(f"{base}/start-again?back=/")
    problems += axe_problems(browser)
    assert problems == []


def _sign_in(driver, base: str, username: str, lang: str) -> None:
    _fresh(driver, base, f"/staff/login?lang={lang}", kiosk=False)
    set_answers(driver, {"username": username, "password": PASSWORD})
    press_main_button(driver)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_pages_have_no_axe_violations(staff_site, browser, lang):
    _app, base = staff_site
    _fresh(browser, base, f"/staff/login?lang={lang}", kiosk=False)
    problems = axe_problems(browser)
    press_main_button(browser)  # empty: the error state
    problems += axe_problems(browser)

    _sign_in(browser, base, "worker", lang)
    problems += axe_problems(browser)  # dashboard
    press_main_button(browser)  # start an assisted application
    for _slug, data in answers_for("individual"):
        set_answers(browser, data)
        press_main_button(browser)
    press_main_button(browser)  # check answers -> declaration
    problems += axe_problems(browser)  # with "Assisted by" and the consent question
    press_main_button(browser)
    problems += axe_problems(browser)  # its error state
    set_answers(browser, {"consent": "y", "consent_method": "read_aloud", "worker_confirms": "y"})
    press_main_button(browser)
    browser.get(base + "/staff")
    problems += axe_problems(browser)  # dashboard with a sent application

    _sign_in(browser, base, "admin", lang)
    for path in ("/staff", "/staff/admin/queue", "/staff/admin/staff", "/staff/admin/audit"):
        browser.get(base + path)
        problems += axe_problems(browser)
    browser.get(base + "/staff/admin/staff")
    press_main_button(browser)  # "Add the account" empty: the error state
    problems += axe_problems(browser)
    assert problems == []
