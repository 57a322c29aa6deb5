"""A saved application survives the server being killed right after the save.

The real node (`python run.py`) on 127.0.0.1: answers typed over HTTP, "Save and come
back later" pressed, the code read from the saved page, and then SIGKILL, with no
clean shutdown. What the save wrote must already be on disk, and only as ciphertext:
the instance folder holds no name, IIN or code. Restarted on the same folder, the code
opens the application in a browser that never saw it.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest

from tests.helpers import PERSON_ANSWERS, VALID_IIN, answers_for, code_on, token
from tests.keys import NODE_KEYS
from tests.system.server import Browser, Server

NAME = PERSON_ANSWERS[0][1]["full_name"]
CONTACT = {"contact_name": "Айгерім Серікова", "phone": "8 701 234 56 78"}
ANSWERED = answers_for("individual")[:3]  # applicant type, person, region
DOWN = "http://127.0.0.1:9"  # no registry: the node's own copy must do


def _post(browser: Browser, path: str, data: dict) -> tuple[int, dict, str]:
    """GET the page for its form token, then POST, as a browser would."""
    _status, _headers, page = browser.request(path)
    return browser.request(path, {**data, "csrf_token": token(page)})


def _save_on_contact(browser: Browser, kiosk: bool) -> str:
    """Answer the first pages, save on the contact page with its answers; the code shown.

    A web node answers 303 to the saved page (the code in the session); a kiosk shows
    the saved page in the response itself. Either way the process is killed next.
    """
    for slug, data in ANSWERED:
        status, _headers, _page = _post(browser, f"/apply/{slug}", data)
        assert status == 302, slug
    _status, _headers, form = browser.request("/apply/contact")
    status, headers, page = browser.request(
        "/apply/contact/save", {**CONTACT, "csrf_token": token(form)}
    )
    if kiosk:
        assert status == 200
        return code_on(page)
    assert status == 303 and headers["Location"].endswith("/apply/saved")
    status, _headers, page = browser.request("/apply/saved")
    assert status == 200
    return code_on(page)


def _secrets(code: str) -> list[bytes]:
    """What must never be on disk: the person's name and IIN, and the code, as any encoding."""
    texts = [NAME, VALID_IIN, CONTACT["contact_name"], code, code.replace("-", "")]
    escaped = [json.dumps(text).strip('"') for text in (NAME, CONTACT["contact_name"])]
    return [text.encode() for text in texts + escaped]


def _found_on_disk(instance: Path, code: str) -> list[tuple[str, bytes]]:
    """(file, secret) for every secret in any file of the instance folder (sqlite, -wal, -shm)."""
    found = []
    for path in sorted(instance.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [(path.name, secret) for secret in _secrets(code) if secret in data]
    return found


def _shows_text(page: str, value: str) -> bool:
    return f'value="{escape(value)}"' in page


def _ticked(page: str, name: str, value: str) -> bool:
    pattern = rf'name="{name}" type="radio" value="{re.escape(value)}"\s+checked'
    return re.search(pattern, page) is not None


def _server(instance: Path, kiosk: bool, port: int | None = None) -> Server:
    """The node as deployed, its forwarder beside it, encrypting to the test registry's key.

    No registry is reachable, so the deposit waits in the queue. The forwarder matters: it
    keeps a connection open, so the WAL is not folded back when a request's connection
    closes, and only the save's own checkpoint keeps the typed answers off the disk.
    """
    return Server(
        instance,
        port=port,
        KIOSK_FORWARDER="on",
        KIOSK_MODE="on" if kiosk else "off",
        KIOSK_REGISTRY_URL=DOWN,
        **{f"KIOSK_{name}": value for name, value in NODE_KEYS.items()},
    )


@pytest.mark.parametrize("kiosk", [False, True], ids=["web", "kiosk"])
def test_save_then_kill_then_restart_resumes_with_the_answers(tmp_path, kiosk):
    server = _server(tmp_path, kiosk).start()
    try:
        browser = Browser(server.url)
        if kiosk:
            browser.request("/kiosk/help?lang=en")
        code = _save_on_contact(browser, kiosk)
    finally:
        server.kill()  # SIGKILL right after the saved page: no shutdown, no checkpoint

    assert (tmp_path / "kiosk.sqlite3").exists()
    assert _found_on_disk(tmp_path, code) == []

    restarted = _server(tmp_path, kiosk, port=server.port).start()
    try:
        elsewhere = Browser(restarted.url)  # a fresh cookie jar: only the code is brought
        status, headers, _page = _post(elsewhere, "/resume", {"code": code})
        assert status == 303 and headers["Location"].endswith("/apply/title")
        person = elsewhere.request("/apply/person")[2]
        assert _shows_text(person, NAME) and _shows_text(person, VALID_IIN)
        assert _shows_text(elsewhere.request("/apply/contact")[2], CONTACT["contact_name"])
        assert _ticked(elsewhere.request("/apply/region")[2], "region", "KZ-75")
        assert _ticked(
            elsewhere.request("/apply/applicant-type")[2], "applicant_type", "individual"
        )
    finally:
        restarted.kill()
