"""CSRF, headers, cookies, error pages, and what reaches the logs."""

from __future__ import annotations

import logging

from flask import Flask

from tests.helpers import post_step, token


def test_post_without_token_gets_a_friendly_page_with_a_way_back(client):
    response = client.post("/apply/title", data={"project_title": "A"})
    assert response.status_code == 400
    assert "This page has expired" in response.text
    assert 'href="/apply/title"' in response.text
    assert 'class="skip-link"' in response.text


def test_post_with_a_forged_token_is_refused(client, db):
    client.get("/apply/applicant-type")
    response = client.post(
        "/apply/applicant-type", data={"applicant_type": "ngo", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert db["drafts"].count == 0


def test_token_from_another_session_is_refused(app, client):
    stolen = token(app.test_client().get("/apply/applicant-type").text)
    client.get("/apply/applicant-type")
    response = client.post(
        "/apply/applicant-type", data={"applicant_type": "ngo", "csrf_token": stolen}
    )
    assert response.status_code == 400


def test_security_headers_on_every_response(client):
    for path in ["/", "/apply/applicant-type", "/healthz", "/missing", "/static/css/base.css"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "style-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"  # HTTPS forms need the Referer


def test_pages_are_not_cached(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    for path in ["/", "/apply/organisation", "/apply/applicant-type"]:
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_lax_and_secure_over_https(app):
    plain = app.test_client()
    post_step(plain, "/apply/applicant-type", {"applicant_type": "ngo"})
    cookie = plain.get_cookie("kiosk_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure

    secure = app.test_client()
    page = secure.get("/apply/applicant-type", base_url="https://localhost")
    response = secure.post(
        "/apply/applicant-type",
        data={"applicant_type": "ngo", "csrf_token": token(page.text)},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/apply/applicant-type"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_no_inline_script_or_style_in_pages(client):
    for path in ["/", "/apply/applicant-type", "/apply/problem", "/missing"]:
        page = client.get(path).text
        assert "<script>" not in page and "style=" not in page and "<style" not in page


def test_unexpected_error_shows_a_calm_page_and_logs_no_personal_data(client, caplog, monkeypatch):
    from kiosk import drafts

    def broken(draft, db=None):
        raise ValueError(f"cannot store {draft.answers}")

    monkeypatch.setattr(drafts, "save", broken)
    with caplog.at_level(logging.INFO):
        response = post_step(
            client,
            "/apply/applicant-type",
            {"applicant_type": "individual"},
        )
    assert response.status_code == 500
    assert "Sorry, something went wrong" in response.text
    assert "Traceback" not in response.text and "ValueError" not in response.text
    assert "ValueError" in caplog.text  # the operator learns what broke...
    assert "individual" not in caplog.text  # ...but not what the applicant typed


def test_method_not_allowed_uses_the_site_layout(client):
    response = client.post("/apply/check")
    assert response.status_code in (400, 405)
    assert 'class="skip-link"' in response.text


def test_app_factory_builds_a_flask_app(app):
    assert isinstance(app, Flask)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
