"""Save and come back later, and continue a saved application, in a real browser.

On the web with the keyboard alone (real keys through WebDriver actions, focus checked at
every stop as in test_keyboard.py): save, hear the code one character at a time, print, and
continue in another session in the language the application was saved in; a mistyped code
explained. On a kiosk by touch (WebDriver clicks stand for touches, as in
test_keyboard_kiosk.py): the slip, the kiosk forgetting the applicant, and the code typed on
the on-screen keyboard's code layout. The slip as printed on the kiosk's 80 mm printer. And
axe-core on the saved page's e-mail states, sent through a real SMTP server (tests/smtp.py);
the other new pages are in the shared walks (conftest.py).
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import (
    SAVE_BUTTON,
    SHORT,
    axe_problems,
    choose_settings,
    follow_link,
    open_next_page,
    page_state,
    serve_app,
    set_answers,
    settle_site_data,
)
from tests.browser.test_accessibility import AXE_TABLE
from tests.browser.test_keyboard import Keyboard
from tests.browser.test_keyboard_kiosk import (
    DIGITS,
    LATIN,
    characters,
    panel_open,
    touch_type,
)
from tests.browser.test_kiosk_staff_browser import _check_targets
from tests.helpers import WRONG_CHECK
from tests.smtp import smtp_server

CODE = re.compile(r"R[0-9A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}")
MISTYPED = "Check the code: one character is wrong"
DAY_AND_TIME = re.compile(r"\b20\d\d\b.*\b\d\d:\d\d\b")  # "2027 жылғы 1 қаңтар, 00:19" and such


@pytest.fixture(scope="module")
def mail_sink():
    with smtp_server() as sink:
        yield sink


@pytest.fixture(scope="module")
def web_site(mail_sink, empty_registry_url):
    """A web node that can e-mail the code (through the sink), with a registry holding nothing."""
    mail = {
        "SMTP_HOST": mail_sink.host,
        "SMTP_PORT": mail_sink.port,
        "MAIL_FROM": "noreply@example.kz",
    }
    with serve_app(SECRET_KEY="save", REGISTRY_URL=empty_registry_url, **mail) as (_app, url):
        yield url


@pytest.fixture(scope="module")
def kiosk_site():
    with serve_app(SECRET_KEY="save-kiosk", KIOSK_MODE=True) as served:
        yield served


@pytest.fixture
def driver(browser):
    """The shared browser with no cookies before and after: a person who has not been here."""
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()


def shown_code(driver, where: str = "main") -> str:
    """The return code as the page shows it (the grouped form, seen but not heard)."""
    code = driver.find_element(By.CSS_SELECTOR, f"{where} .reference").text
    assert CODE.fullmatch(code), code
    return code


def heard_code(driver, where: str = "main") -> str:
    """What a screen reader reads for the code: the visible code is hidden from it, and the
    visually hidden text beside it is read instead."""
    visible = driver.find_element(By.CSS_SELECTOR, f"{where} .reference")
    assert visible.get_attribute("aria-hidden") == "true"
    spoken = visible.find_element(By.XPATH, "following-sibling::*[1]")
    assert "visually-hidden" in spoken.get_attribute("class").split()
    return spoken.get_attribute("textContent")


def touch(driver, selector: str) -> None:
    """A touch on the screen: a WebDriver click, the pointer going down on the element."""
    driver.find_element(By.CSS_SELECTOR, selector).click()


def touch_to_next_page(driver, selector: str) -> None:
    open_next_page(driver, lambda: touch(driver, selector))


def cookie_names(driver) -> set[str]:
    return {cookie["name"] for cookie in driver.get_cookies()}


# The web, with the keyboard only -------------------------------------------------------------


def test_save_by_keyboard_then_continue_in_another_session_in_its_language(
    web_site, driver, coverage
):
    """Saved in Kazakh, continued in a session that chose English: Kazakh comes back."""
    kb = Keyboard(driver, coverage, "save and return")
    driver.get(f"{web_site}/apply/applicant-type?lang=kk")
    kb.skip_to_main()
    kb.answer({"applicant_type": "ngo"})
    save = driver.find_element(By.CSS_SELECTOR, SAVE_BUTTON).text
    kb.tab_to(lambda stop: stop["tag"] == "button" and stop["text"] == save)
    kb.enter_page()

    assert page_state(driver) == {
        "lang": "kk",
        "classes": "",
        "path": "/apply/saved",
        "errors": False,
    }
    code = shown_code(driver)
    assert heard_code(driver) == ", ".join(code.replace("-", ""))  # "R, 7, K, 3, …"
    _print_button_prints(driver, kb)

    driver.delete_all_cookies()
    driver.get(f"{web_site}/?lang=en")
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["text"] == "Continue a saved application")
    kb.enter_page()
    assert page_state(driver)["path"] == "/resume"
    kb.tab_to(lambda stop: stop["name"] == "code")
    kb.type(code.lower().replace("-", " "))  # as a person may copy it from paper
    kb.enter_page()

    assert page_state(driver) == {
        "lang": "kk",
        "classes": "",
        "path": "/apply/organisation",
        "errors": False,
    }
    driver.get(f"{web_site}/apply/applicant-type")
    assert driver.find_element(By.CSS_SELECTOR, "input[value=ngo]").is_selected()


def _print_button_prints(driver, kb: Keyboard) -> None:
    """print.js shows "Print this page" as a real button; Enter on it opens printing."""
    button = driver.find_element(By.CSS_SELECTOR, "main button[data-print]")
    assert button.is_displayed() and button.get_attribute("type") == "button"
    assert button.aria_role == "button" and button.accessible_name == button.text != ""
    driver.execute_script(  # the print dialog, counted instead of opened
        "window.print = () => { window.kioskTestPrinted = (window.kioskTestPrinted || 0) + 1; }"
    )
    kb.tab_to(lambda stop: stop["tag"] == "button" and stop["text"] == button.text)
    kb.press(Keys.ENTER)
    assert driver.execute_script("return window.kioskTestPrinted") == 1


def test_a_mistyped_code_is_explained_and_the_summary_leads_to_the_field(
    web_site, driver, coverage
):
    """One wrong character: the summary is read first (it takes focus, even after the skip
    link put #main in the address), and its link puts the caret back in the field."""
    kb = Keyboard(driver, coverage, "save and return")
    driver.get(f"{web_site}/resume?lang=en")
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["name"] == "code")
    kb.type(WRONG_CHECK)
    kb.enter_page()

    summary = kb.focus()
    assert "error-summary" in summary["cls"], summary  # it took focus: read first
    assert MISTYPED in driver.find_element(By.CSS_SELECTOR, ".error-summary").text
    link = kb.tab()
    assert link["href"] == "#code", link
    kb.press(Keys.ENTER)
    field = kb.focus()
    assert field["id"] == "code" and field["value"] == WRONG_CHECK, field
    described = driver.find_element(By.ID, "code").get_attribute("aria-describedby").split()
    messages = [driver.find_element(By.ID, part).text for part in described]
    assert any(MISTYPED in message for message in messages), messages


# A kiosk, by touch --------------------------------------------------------------------------


def test_on_a_kiosk_by_touch_the_slip_the_screen_forgets_and_the_code_brings_it_back(
    kiosk_site, driver
):
    """The next person at the kiosk must find nothing of this one; the code alone, typed on
    the screen's own keyboard, brings the application back."""
    app, base = kiosk_site
    session = app.config["SESSION_COOKIE_NAME"]
    settle_site_data(driver, base)
    driver.get(f"{base}/kiosk")
    touch_to_next_page(driver, "main a[hreflang=kk]")
    touch_to_next_page(driver, "main button[type=submit]")  # the help screen: as it is
    touch_to_next_page(driver, "main button[type=submit]")  # "Start now"
    assert page_state(driver)["path"] == "/apply/applicant-type"
    choice = driver.find_element(By.CSS_SELECTOR, "input[value=individual]")
    label = f"label[for={choice.get_attribute('id')}]"
    touch(driver, label)
    assert choice.is_selected()
    answer = driver.find_element(By.CSS_SELECTOR, label).text
    assert session in cookie_names(driver)
    touch_to_next_page(driver, SAVE_BUTTON)

    assert page_state(driver)["lang"] == "kk"  # the slip in the person's language
    code = _the_slip_shows_only_the_code_and_its_date(driver, answer)
    WebDriverWait(driver, 5, poll_frequency=0.05).until(lambda d: session not in cookie_names(d))
    assert driver.find_element(By.CSS_SELECTOR, "main button[data-print]").is_displayed()
    problems = _check_targets(driver, "saved slip")
    touch_to_next_page(driver, "form[action='/kiosk/finish'] button")
    assert page_state(driver)["path"] == "/kiosk"
    for _ in range(2):  # Back: the save's own page, then the question: neither code nor answer
        driver.back()
        assert code not in driver.page_source
        assert not driver.find_elements(By.CSS_SELECTOR, "input:checked")

    driver.get(f"{base}/kiosk")
    touch_to_next_page(driver, "main .kiosk-welcome__resume a[lang=kk]")
    assert page_state(driver)["path"] == "/resume" and page_state(driver)["lang"] == "kk"
    problems += _check_targets(driver, "resume")
    touch(driver, "#code")
    WebDriverWait(driver, 5, poll_frequency=0.02).until(panel_open)
    assert characters(driver) == DIGITS | LATIN | {"-"}  # the code's layout, not Kazakh
    touch_type(driver, code.lower())
    assert driver.find_element(By.ID, "code").get_attribute("value") == code.lower()
    touch(driver, ".osk [data-k=close]")  # the keyboard covers the lower screen: put it away
    assert not panel_open(driver)
    touch_to_next_page(driver, "main button[type=submit]")

    assert page_state(driver)["path"] == "/apply/person" and page_state(driver)["lang"] == "kk"
    driver.get(f"{base}/apply/applicant-type")
    assert driver.find_element(By.CSS_SELECTOR, "input[value=individual]").is_selected()
    assert problems == []


def _the_slip_shows_only_the_code_and_its_date(driver, answer: str) -> str:
    """The slip holds the code, heard one by one, and its date; no answer is on the page."""
    assert page_state(driver)["path"] == "/apply/applicant-type/save"
    code = shown_code(driver, ".receipt")
    assert heard_code(driver, ".receipt") == ", ".join(code.replace("-", ""))
    until = driver.find_element(By.CSS_SELECTOR, ".receipt__details div:nth-child(2) dd").text
    assert DAY_AND_TIME.search(until), until
    assert answer not in driver.find_element(By.TAG_NAME, "body").text
    assert not driver.find_elements(By.CSS_SELECTOR, "input:checked")
    return code


# The slip on the kiosk's 80 mm printer -------------------------------------------------------

PRINTABLE = 280  # CSS px: 80 mm paper less receipt.css's 3 mm margins, 74 mm at 96 px per inch
_PRINTED = """
const slip = document.querySelector(".receipt"), box = slip.getBoundingClientRect();
const shown = [];
for (const el of document.querySelectorAll("body *")) {
  const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  if (r.width < 1 || r.height < 1 || s.visibility !== "visible") continue;
  if (el.closest(".visually-hidden") || el.contains(slip) || slip.contains(el)) continue;
  shown.push(el.tagName.toLowerCase() + "." + el.className);
}
const reference = slip.querySelector(".reference"), code = reference.getBoundingClientRect();
const gone = [".header", ".footer", ".language-switch", "main .button", ".no-print"].filter(
  (selector) => [...document.querySelectorAll(selector)].some(
    (el) => getComputedStyle(el).display !== "none"));
return {shown, gone, width: innerWidth, scroll: document.documentElement.scrollWidth,
        slip: [box.left, box.right], code: [code.left, code.right],
        lines: reference.getClientRects().length,
        text: slip.innerText};
"""


def test_the_kiosk_slip_prints_alone_within_80_mm(kiosk_site, driver):
    """Printed (print media, as wide as the paper's printable part): the slip and nothing else,
    the code on one line, nothing cut off at the edge of the paper."""
    _app, base = kiosk_site
    settle_site_data(driver, base)
    driver.get(f"{base}/apply/applicant-type?lang=ru")
    set_answers(driver, {"applicant_type": "individual"})
    follow_link(driver, SAVE_BUTTON)
    code = shown_code(driver, ".receipt")
    until = driver.find_element(By.CSS_SELECTOR, ".receipt__details div:nth-child(2) dd").text
    try:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PRINTABLE, "height": 1100, "deviceScaleFactor": 1, "mobile": False},
        )
        printed = driver.execute_script(_PRINTED)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert printed["width"] == PRINTABLE, printed
    assert printed["shown"] == [] and printed["gone"] == [], printed  # the slip alone
    assert printed["scroll"] <= PRINTABLE, printed  # nothing cut off at the paper's edge
    assert printed["slip"][0] >= 0 and printed["slip"][1] <= PRINTABLE, printed
    left, right = printed["code"]
    assert left >= 0 and right <= PRINTABLE and printed["lines"] == 1, printed  # whole, one line
    assert code in printed["text"] and until in printed["text"], printed["text"]
    assert not driver.execute_script("return matchMedia('print').matches")  # screen again


# axe-core on the e-mail form's states ---------------------------------------------------------


@pytest.mark.parametrize("theme", ["standard", "high contrast"])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_email_form_in_error_and_sent_passes_axe(
    web_site, mail_sink, driver, coverage, lang, theme
):
    """The code e-mailed through a real SMTP server: the form with its error, then the notice."""
    aaa = theme == "high contrast"
    choose_settings(driver, web_site, lang, theme)
    driver.get(f"{web_site}/apply/applicant-type")
    set_answers(driver, {"applicant_type": "ngo"})
    follow_link(driver, SAVE_BUTTON)
    code = shown_code(driver)
    failures = []

    press_email(driver, "")
    assert page_state(driver)["errors"], page_state(driver)
    assert shown_code(driver) == code
    assert driver.find_element(By.ID, "email").get_attribute("aria-invalid") == "true"
    failures += _axe(driver, coverage, "saved application · e-mail empty", lang, theme, aaa)

    address = f"aliya.{lang}.{SHORT[theme]}@example.kz"
    press_email(driver, address)
    assert page_state(driver)["path"] == "/apply/saved" and not page_state(driver)["errors"]
    notice = driver.find_element(By.CSS_SELECTOR, "main .notice").text
    assert address in notice, notice
    assert shown_code(driver) == code  # still on the page to write down
    failures += _axe(driver, coverage, "saved application · e-mail sent", lang, theme, aaa)

    received = [m for m in mail_sink.messages if m["To"] == address]
    assert len(received) == 1 and code in received[0].get_content()
    assert not failures, "\n".join(failures)


def press_email(driver, address: str) -> None:
    """Type an address in "E-mail me the code" and send it."""
    set_answers(driver, {"email": address})
    follow_link(driver, "main form[action$='/apply/saved/email'] button[type=submit]")


def _axe(driver, coverage, label: str, lang: str, theme: str, aaa: bool) -> list[str]:
    problems = axe_problems(driver, aaa=aaa)
    mark = "FAIL" if problems else "AAA" if aaa else "AA"
    coverage.record(AXE_TABLE, label, f"{lang} {SHORT[theme]}", mark)
    return [f"{label} ({lang}, {theme}): {problem}" for problem in problems]
