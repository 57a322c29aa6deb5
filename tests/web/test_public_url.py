"""The receipt's status address (text and QR code) comes from config, never from Host."""

from __future__ import annotations

import re

from tests.helpers import answer_all, submit

FORGED = "evil.example"


def _status_address(client) -> str:
    """Send an application, then read the status address off its receipt, asked for with a
    forged Host header."""
    answer_all(client)
    submit(client)
    session = client.get_cookie("kiosk_session")  # the browser sends it to whatever host it asks
    client.set_cookie("kiosk_session", session.value, domain=FORGED)
    page = client.get("/apply/receipt", headers={"Host": FORGED}).text
    assert FORGED not in page
    return re.search(r'(https?://[^\s"<>/]+)/status\?reference=[0-9A-Z-]+', page).group(1)


def test_receipt_uses_public_url_whatever_the_host_header(make_app):
    app = make_app(PUBLIC_URL="https://apply.example.kz")
    assert _status_address(app.test_client()) == "https://apply.example.kz"


def test_without_public_url_the_receipt_names_the_configured_server(make_app):
    app = make_app(PUBLIC_URL="", HOST="127.0.0.1", PORT=8000)
    assert _status_address(app.test_client()) == "http://127.0.0.1:8000"
