"""What a screen-reader or keyboard user meets in a real browser, with and without JavaScript.

Buttons that open another page answer Space and Enter; the current language and "Back" cost
no wasted Tab stop; the "other group" checkbox says it shows a field; counts read as numbers
and keep their format when the script runs; reference numbers have a spoken form.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import choose_settings, open_next_page, press_main_button, set_answers
from tests.helpers import answers_for


def _path(driver) -> str:
    return urlsplit(driver.current_url).path


def _answer_everything(driver, base: str, kiosk: bool = False) -> None:
    """A fresh English session through every question, ending on the check answers page."""
    choose_settings(driver, base, "en", "standard", extra="kiosk" if kiosk else "")
    driver.get(base + "/apply/applicant-type")
    for slug, data in answers_for("ngo"):
        assert _path(driver) == f"/apply/{slug}"
        set_answers(driver, data)
        press_main_button(driver)
    assert _path(driver) == "/apply/check"


def _submit(driver) -> None:
    driver.get(_origin(driver) + "/apply/declaration")
    set_answers(driver, {"consent": "y"})
    press_main_button(driver)
    assert _path(driver) == "/apply/confirmation"


def _origin(driver) -> str:
    url = urlsplit(driver.current_url)
    return f"{url.scheme}://{url.netloc}"


def _control(driver, text: str):
    """The one control in <main> that reads `text`, whatever element it is."""
    found = driver.find_elements(
        By.XPATH, f"//main//*[self::a or self::button][normalize-space()='{text}']"
    )
    assert len(found) == 1, (text, _path(driver), len(found))
    return found[0]


def _press_on(driver, text: str, key: str) -> dict:
    """Focus the control named `text`, press `key` as a keyboard would, wait for a new page.

    Returns what the control was: its tag and role, to show it is announced as it behaves.
    """
    control = _control(driver, text)
    what = driver.execute_script(
        "const el = arguments[0]; el.focus();"
        "return {tag: el.tagName.toLowerCase(), role: el.getAttribute('role'),"
        " focused: document.activeElement === el};",
        control,
    )
    assert what["focused"], (text, what)
    open_next_page(driver, ActionChains(driver).send_keys(key).perform)
    return what


KEYS = pytest.mark.parametrize("key", [Keys.SPACE, Keys.ENTER], ids=["Space", "Enter"])


@KEYS
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_buttons_that_open_pages_answer_space_and_enter(
    live_server, browser, browser_without_js, key, javascript
):
    """Real buttons: "Start now", "Continue" on the check page and the receipt's "Back"."""
    driver = browser if javascript else browser_without_js
    choose_settings(driver, live_server, "en", "standard")
    what = _press_on(driver, "Start now", key)
    assert _path(driver) == "/apply/applicant-type"
    assert what == {"tag": "button", "role": None, "focused": True}

    _answer_everything(driver, live_server)
    assert _press_on(driver, "Continue", key)["tag"] == "button"
    assert _path(driver) == "/apply/declaration"

    _submit(driver)
    driver.get(live_server + "/apply/receipt")
    assert _press_on(driver, "Back", key)["tag"] == "button"
    assert _path(driver) == "/apply/confirmation"


@KEYS
def test_kiosk_buttons_that_open_pages_answer_space_and_enter(kiosk_live_server, browser, key):
    """The kiosk's "Print the receipt" and "No, go back" (start again)."""
    driver = browser
    _answer_everything(driver, kiosk_live_server, kiosk=True)
    driver.get(kiosk_live_server + "/start-again?back=/apply/region")
    assert _press_on(driver, "No, go back", key)["tag"] == "button"
    assert _path(driver) == "/apply/region"
    assert driver.find_elements(By.CSS_SELECTOR, "input[name=region]:checked")  # nothing lost

    _submit(driver)
    assert _press_on(driver, "Print the receipt", key)["tag"] == "button"
    assert _path(driver) == "/apply/receipt"


def test_no_page_has_a_link_pretending_to_be_a_button(live_server, kiosk_live_server, browser):
    for base, kiosk in ((live_server, False), (kiosk_live_server, True)):
        _answer_everything(browser, base, kiosk)
        for path in ["/", "/apply/check", "/start-again?back=/"]:
            browser.get(base + path)
            assert not browser.find_elements(By.CSS_SELECTOR, "a[role=button]"), (base, path)
        _submit(browser)
        for path in ["/apply/confirmation", "/apply/receipt"]:
            browser.get(base + path)
            assert not browser.find_elements(By.CSS_SELECTOR, "a[role=button]"), (base, path)


# Tab stops ------------------------------------------------------------------------------------


def _tab(driver, back: bool = False) -> dict:
    actions = ActionChains(driver)
    if back:
        actions.key_down(Keys.SHIFT)
    actions.send_keys(Keys.TAB)
    if back:
        actions.key_up(Keys.SHIFT)
    actions.perform()
    return driver.execute_script(
        "const el = document.activeElement;"
        "return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,"
        " text: (el.innerText || '').trim(), href: el.getAttribute('href') || '',"
        " inMain: !!el.closest('main')};"
    )


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_no_wasted_tab_stops_current_language_and_back(live_server, browser, lang):
    """Tab from the top: skip link, service name, the two other languages, Accessibility, Back,
    then the page.

    The skip link goes to <main>, past Back; the first Tab after it is the first question.
    """
    choose_settings(browser, live_server, lang, "standard")
    browser.get(live_server + "/apply/region")
    stops = [_tab(browser) for _ in range(7)]
    assert "skip-link" in stops[0]["cls"]
    assert "header__service" in stops[1]["cls"]
    languages = [stop["href"] for stop in stops[2:4]]
    assert all("lang=" in href for href in languages), stops
    assert not any(href.endswith(f"lang={lang}") for href in languages), stops
    assert stops[4]["href"].startswith("/accessibility"), stops
    assert "back-link" in stops[5]["cls"] and not stops[5]["inMain"], stops
    assert stops[6]["tag"] == "input" and stops[6]["inMain"], stops

    browser.get(live_server + "/apply/region")
    _tab(browser)  # the skip link
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert browser.execute_script("return document.activeElement.id") == "main"
    first = _tab(browser)
    assert first["tag"] == "input" and first["inMain"], first  # not Back
    assert "back-link" in _tab(browser, back=True)["cls"]  # Back is just before <main>


# The "other group" checkbox --------------------------------------------------------------------


def _other(driver) -> dict:
    return driver.execute_script(
        "const box = document.querySelector('input[name=target_groups][value=other]');"
        "const panel = box.parentElement.querySelector('.checkboxes__conditional');"
        "return {controls: box.getAttribute('aria-controls'),"
        " expanded: box.getAttribute('aria-expanded'), panel: panel.id,"
        " shown: getComputedStyle(panel).display !== 'none'};"
    )


def test_other_group_checkbox_says_it_shows_a_field(live_server, browser):
    choose_settings(browser, live_server, "en", "standard")
    browser.get(live_server + "/apply/target-groups")
    state = _other(browser)
    assert state == {
        "controls": state["panel"],
        "expanded": "false",
        "panel": state["panel"],
        "shown": False,
    }
    assert state["panel"]
    label = browser.find_element(By.CSS_SELECTOR, "input[value=other] + label")
    label.click()
    assert _other(browser)["expanded"] == "true" and _other(browser)["shown"]
    ActionChains(browser).send_keys(Keys.SPACE).perform()  # the box has focus after the click
    assert _other(browser)["expanded"] == "false" and not _other(browser)["shown"]


def test_other_group_reveal_without_javascript_is_the_css_one(live_server, browser_without_js):
    driver = browser_without_js
    choose_settings(driver, live_server, "en", "standard")
    driver.get(live_server + "/apply/target-groups")
    assert _other(driver)["controls"] is None and _other(driver)["expanded"] is None
    driver.find_element(By.CSS_SELECTOR, "input[value=other] + label").click()
    assert _other(driver)["shown"] and _other(driver)["expanded"] is None


# Counts: the same format with and without the script -------------------------------------------

_INFO = """
const info = document.getElementById(arguments[0] + "-info");
const without = (selector) => {
  const copy = info.cloneNode(true);
  for (const el of copy.querySelectorAll(selector)) el.remove();
  return copy.textContent.trim();
};
const live = document.querySelector("[aria-live=polite]");
return {seen: without(".visually-hidden"), heard: without("[aria-hidden=true]"),
        live: live ? live.textContent : null};
"""


def _type_length(driver, field: str, length: int) -> None:
    driver.execute_script(
        "const el = document.getElementById(arguments[0]); el.value = 'ә'.repeat(arguments[1]);"
        "el.dispatchEvent(new Event('input', {bubbles: true}));",
        field,
        length,
    )


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_character_count_numbers_read_as_numbers_with_and_without_the_script(
    live_server, browser, browser_without_js, lang
):
    from babel.numbers import format_decimal

    choose_settings(browser_without_js, live_server, lang, "standard")
    browser_without_js.get(live_server + "/apply/problem")
    without = browser_without_js.execute_script(_INFO, "problem")["seen"]
    assert "2000" in without, without

    choose_settings(browser, live_server, lang, "standard")
    browser.get(live_server + "/apply/problem")
    with_script = browser.execute_script(_INFO, "problem")
    assert "2000" in with_script["seen"] and without != with_script["seen"]  # the live count
    _type_length(browser, "problem", 10)
    assert "1990" in browser.execute_script(_INFO, "problem")["seen"]
    WebDriverWait(browser, 5).until(lambda d: d.execute_script(_INFO, "problem")["live"])
    assert "1990" in browser.execute_script(_INFO, "problem")["live"]

    _type_length(browser, "problem", 14_500)  # 12 500 too many: seen grouped, heard plain
    count = browser.execute_script(_INFO, "problem")
    assert format_decimal(12_500, locale=lang) in count["seen"], count
    assert "12500" in count["heard"] and "12500" not in count["seen"], count
    WebDriverWait(browser, 5).until(lambda d: "12500" in d.execute_script(_INFO, "problem")["live"])


# Read aloud says a reference character by character ---------------------------------------------

_SENT = """
window.__sent = [];
window.Audio = function (src) {
  window.__sent.push(String(src));
  return {play: () => Promise.resolve(), pause: () => {}, addEventListener: () => {},
          currentTime: 0, error: null};
};
"""


def test_read_aloud_says_a_reference_character_by_character(kiosk_live_server, browser):
    from urllib.parse import parse_qs

    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _SENT})
    try:
        browser.get(kiosk_live_server + "/kiosk")
        browser.delete_all_cookies()
        browser.get(kiosk_live_server + "/kiosk/help?lang=kk")
        set_answers(browser, {"read_aloud": "y"})
        press_main_button(browser)
        browser.get(kiosk_live_server + "/status")
        browser.find_element(By.CSS_SELECTOR, "main .read-aloud__read").click()
        WebDriverWait(browser, 5).until(lambda d: d.execute_script("return window.__sent.length"))
        sent = browser.execute_script("return window.__sent")
        text = " ".join(parse_qs(urlsplit(src).query)["text"][0] for src in sent)
        assert "7, K, 3, M, 9, Q, X, T, W" in text, text
        assert "7K3M-9QXT-W" not in text
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", script)
