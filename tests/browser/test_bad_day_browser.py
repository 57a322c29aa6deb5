"""The pages of a bad day, in a real browser through nginx: a full disk under a question and the
declaration, the "not available" page, and the notice that a draft ran out. Each passes axe-core
in kk, ru and en, standard and high contrast (AAA), with its message in the page's language.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from selenium.webdriver.common.by import By

from kiosk.db import connect
from tests.browser.conftest import (
    axe_problems,
    choose_settings,
    press_main_button,
    serve_app,
    set_answers,
)
from tests.disk import small_disk

TEXTS = {
    "not saved": {
        "kk": "Жауаптарыңызды дәл қазір сақтау мүмкін болмады",
        "ru": "Сейчас не удалось сохранить ваши ответы",
        "en": "Your answers could not be saved just now",
    },
    "not available": {
        "kk": "Сервис дәл қазір қолжетімсіз",
        "ru": "Сервис сейчас недоступен",
        "en": "The service is not available just now",
    },
    "ran out": {
        "kk": "бұрынғы жауаптарыңыз өшірілді",
        "ru": "Ваши прежние ответы удалены",
        "en": "Your earlier answers were deleted",
    },
}


@pytest.fixture(scope="module")
def small_disk_server(tmp_path_factory):
    with small_disk(tmp_path_factory.mktemp("disk")) as disk:
        config = {
            "INSTANCE": disk.mount,
            "DATABASE": str(disk.mount / "kiosk.sqlite3"),
            "SECRET_KEY": "d",
        }
        with serve_app(**config) as (app, url):
            yield app, url, disk


def _main_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "main").text


def _expire_drafts(app) -> None:
    database = connect(app.config["DATABASE"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    database.execute("UPDATE drafts SET expires_at = ?", [past])
    database.close()


@pytest.mark.parametrize("theme", ["standard", "high contrast"])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_bad_day_pages_are_accessible_and_translated(browser, small_disk_server, lang, theme):
    app, base, disk = small_disk_server
    aaa = theme == "high contrast"
    choose_settings(browser, base, lang, theme)
    browser.get(f"{base}/apply/applicant-type")
    set_answers(browser, {"applicant_type": "ngo"})
    press_main_button(browser)
    browser.get(f"{base}/apply/title")
    set_answers(browser, {"project_title": "Онлайн сурдоаударма"})
    problems = []
    disk.fill()
    try:
        press_main_button(browser)
        assert TEXTS["not saved"][lang] in _main_text(browser)
        field = browser.find_element(By.NAME, "project_title")
        assert field.get_attribute("value") == "Онлайн сурдоаударма"
        problems += [f"not saved: {p}" for p in axe_problems(browser, aaa=aaa)]
        disk.fill()
        browser.get(f"{base}/apply/check")
        assert TEXTS["not available"][lang] in _main_text(browser)
        problems += [f"not available: {p}" for p in axe_problems(browser, aaa=aaa)]
    finally:
        disk.free()
    _expire_drafts(app)
    browser.get(f"{base}/apply/region")
    assert TEXTS["ran out"][lang] in _main_text(browser)
    problems += [f"ran out: {p}" for p in axe_problems(browser, aaa=aaa)]
    assert problems == []
