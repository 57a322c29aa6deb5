"""A live server and one shared headless Chromium for the browser tests.

Debian's chromium and chromedriver are used directly (Selenium Manager cannot
download anything here). The browser starts once per test session: a start
costs more than most tests.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from waitress.server import create_server

from kiosk import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="session")
def live_server():
    """The app served by waitress on 127.0.0.1 in a background thread."""
    instance = Path(tempfile.mkdtemp(prefix="kiosk-browser-"))
    app = create_app(
        {"INSTANCE": instance, "DATABASE": str(instance / "kiosk.sqlite3"), "SECRET_KEY": "b"}
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    shutil.rmtree(instance, ignore_errors=True)


def _options(javascript: bool) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
    ]:
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    return options


@pytest.fixture(scope="session")
def browser():
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=_options(javascript=True))
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def browser_without_js():
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=_options(javascript=False))
    yield driver
    driver.quit()


def axe_violations(driver) -> list[dict]:
    """Run axe-core on the current page; return its violations (empty when clean)."""
    axe = Axe(driver)
    axe.inject()
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}}
    results = axe.run(options=json.dumps(options))
    return results["violations"]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )
