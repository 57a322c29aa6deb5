"""The journey in a real browser with JavaScript off (axe-core: test_accessibility.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By

from tests.browser.conftest import open_next_page
from tests.helpers import answers_for


def _fill(driver, data: dict) -> None:
    for name, value in data.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            inputs = driver.find_elements(By.NAME, name)
            kind = inputs[0].get_attribute("type")
            if kind in ("radio", "checkbox"):
                for element in inputs:
                    if element.get_attribute("value") == item and not element.is_selected():
                        driver.find_element(
                            By.CSS_SELECTOR, f"label[for='{element.get_attribute('id')}']"
                        ).click()
            else:
                inputs[0].clear()
                inputs[0].send_keys(item)


def _continue(driver) -> None:
    """Press the page's main button and wait for the next page to load."""
    button = driver.find_element(By.CSS_SELECTOR, "main button[type=submit], main a.button")
    open_next_page(driver, button.click)


def test_whole_journey_without_javascript(live_server, browser_without_js):
    driver = browser_without_js
    driver.delete_all_cookies()
    driver.get(live_server + "/?lang=en")
    _continue(driver)  # "Start now"
    for slug, data in answers_for("public_association"):
        assert urlsplit(driver.current_url).path == f"/apply/{slug}", driver.current_url
        _fill(driver, data)
        _continue(driver)
    assert driver.current_url.endswith("/apply/check")
    _continue(driver)
    driver.find_element(By.CSS_SELECTOR, "label[for=consent]").click()
    _continue(driver)
    assert driver.current_url.endswith("/apply/confirmation")
    reference = driver.find_element(By.CSS_SELECTOR, ".reference").text
    assert len(reference) == 11


def test_error_summary_takes_focus_without_javascript(live_server, browser_without_js):
    driver = browser_without_js
    driver.delete_all_cookies()
    driver.get(live_server + "/apply/title?lang=en")
    _continue(driver)
    assert driver.title.startswith("Error: ")
    focused = driver.switch_to.active_element
    assert "error-summary" in focused.get_attribute("class")
