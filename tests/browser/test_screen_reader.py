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

from tests.browser.conftest import choose_settings, is_replaced, press_main_button, set_answers
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
    page = driver.find_element(By.TAG_NAME, "html")
    ActionChains(driver).send_keys(key).perform()
    WebDriverWait(driver, 10, poll_frequency=0.02).until(lambda _driver: is_replaced(page))
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
