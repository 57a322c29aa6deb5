"""A submission survives the server being killed between submit and confirmation."""

from __future__ import annotations

import re

from kiosk.db import connect
from tests.helpers import answers_for, token
from tests.system.server import Browser, Server


def _post(browser: Browser, path: str, data: dict) -> tuple[int, dict, str]:
    _status, _headers, page = browser.request(path)
    return browser.request(path, {**data, "csrf_token": token(page)})


def test_kill_after_submit_then_restart_shows_the_same_confirmation(tmp_path):
    server = Server(tmp_path).start()
    try:
        browser = Browser(server.url)
        for slug, data in answers_for("dpo"):
            status, _headers, _page = _post(browser, f"/apply/{slug}", data)
            assert status == 302, slug
        status, headers, _page = _post(browser, "/apply/declaration", {"consent": "y"})
        assert status == 303
        assert headers["Location"].endswith("/apply/confirmation")
    finally:
        server.kill()  # before the browser follows the redirect

    restarted = Server(tmp_path, port=server.port).start()
    try:
        status, _headers, page = browser.request("/apply/confirmation")
        assert status == 200
        reference = re.search(r'class="reference">([0-9A-Z-]+)<', page).group(1)
    finally:
        restarted.kill()

    db = connect(tmp_path / "kiosk.sqlite3")
    rows = list(db["submissions"].rows)
    assert [row["reference"] for row in rows] == [reference]
    assert db["outbox"].count == 1 and db["drafts"].count == 0
    db.close()


def test_first_start_creates_the_database_and_a_kept_secret_key(tmp_path):
    server = Server(tmp_path).start()
    server.kill()
    key = (tmp_path / "secret_key").read_text()
    assert (tmp_path / "kiosk.sqlite3").exists() and len(key) == 64
    Server(tmp_path, port=server.port).start().kill()
    assert (tmp_path / "secret_key").read_text() == key  # sessions survive restarts
