"""Kiosk mode through the test client: welcome, help choices, start again, forgetting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kiosk import drafts
from tests.conftest import english_client
from tests.helpers import answer_all, post_step, submit, token


@pytest.fixture
def kiosk_app(make_app):
    return make_app(KIOSK_MODE=True, KIOSK_REGION="KZ-63", KIOSK_CENTRE="Өскемен")


@pytest.fixture
def kiosk(kiosk_app):
    """A kiosk whose browser asks for English, where English was chosen (a kiosk speaks Kazakh
    until a language is chosen: test_kiosk_language.py)."""
    client = english_client(kiosk_app)
    client.get("/kiosk/help?lang=en")
    return client


def test_welcome_offers_three_languages_each_in_itself(kiosk):
    page = kiosk.get("/kiosk").text
    buttons = re.findall(
        r'<a href="/kiosk/help\?lang=(\w+)"[^>]*lang="(\w+)"[^>]*>([^<]+)</a>', page
    )
    assert [(code, name) for code, _lang, name in buttons] == [
        ("kk", "Қазақша"),
        ("ru", "Русский"),
        ("en", "English"),
    ]
    assert '<span lang="kk">' in page and '<span lang="ru">' in page and '<span lang="en">' in page


def test_help_choices_set_contrast_text_size_and_read_aloud(kiosk):
    kiosk.get("/kiosk/help?lang=ru")
    response = post_step(
        kiosk, "/kiosk/help", {"high_contrast": "y", "large_text": "y", "read_aloud": "y"}
    )
    assert response.headers["Location"] == "/"
    page = kiosk.get("/").text
    assert 'lang="ru"' in page
    assert re.search(r'<html lang="ru" class="theme-high-contrast text-large kiosk">', page)
    assert "js/speech.js" in page


def test_kiosk_region_is_preselected_and_can_be_changed(kiosk, kiosk_app):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = kiosk.get("/apply/region").text
    assert re.search(r'value="KZ-63"\s+checked', page)
    post_step(kiosk, "/apply/region", {"region": "KZ-75"})
    assert re.search(r'value="KZ-75"\s+checked', kiosk.get("/apply/region").text)


def test_every_page_has_start_again_and_no_way_out(kiosk):
    for path in ["/", "/apply/applicant-type", "/apply/region", "/accessibility", "/missing"]:
        page = kiosk.get(path).text
        assert "/start-again?back=" in page, path
        assert 'target="_blank"' not in page
        for href in re.findall(r'<a [^>]*href="([^"]+)"', page):
            assert href.startswith(("/", "#")), (path, href)  # nothing leads off the kiosk


def test_start_again_asks_then_deletes_the_draft_and_clears_the_browser(kiosk, kiosk_app):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "ngo"})
    post_step(kiosk, "/apply/organisation", {"organisation_name": "Қамқор", "bin": "180340021791"})
    from kiosk.db import connect

    db = connect(kiosk_app.config["DATABASE"])
    assert db["drafts"].count == 1
    confirm = kiosk.get("/start-again?back=/apply/region")
    assert "Start again?" in confirm.text and 'href="/apply/region"' in confirm.text
    assert db["drafts"].count == 1  # asking deletes nothing
    response = post_step(kiosk, "/start-again?back=/apply/region", {"keep": "y"})
    assert response.headers["Location"] == "/apply/region"  # "No, go back"
    assert db["drafts"].count == 1
    response = post_step(kiosk, "/start-again?back=/apply/region", {})
    assert response.headers["Location"] == "/kiosk"
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert db["drafts"].count == 0
    assert 'value="Қамқор"' not in kiosk.get("/apply/organisation").text
    db.close()


def test_start_again_never_sends_back_off_the_site(kiosk):
    page = kiosk.get("/start-again?back=https://evil.example/").text
    assert re.search(r'<a href="/" class="back-link">', page)
    response = post_step(kiosk, "/start-again?back=https://evil.example/", {"keep": "y"})
    assert response.headers["Location"] == "/"


def test_idle_timeout_post_forgets_the_applicant(kiosk, kiosk_app):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "individual"})
    page = kiosk.get("/apply/person").text
    end_form = re.search(r'action="/kiosk/timeout"[^>]*>(.*?)</form>', page, re.S).group(1)
    response = kiosk.post("/kiosk/timeout", data={"csrf_token": token(end_form)})
    assert response.headers["Location"] == "/kiosk"
    from kiosk.db import connect

    assert connect(kiosk_app.config["DATABASE"])["drafts"].count == 0


def test_still_here_pushes_the_server_expiry_forward(kiosk, kiosk_app):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "ngo"})
    from kiosk.db import connect

    db = connect(kiosk_app.config["DATABASE"])
    db.execute(
        "UPDATE drafts SET expires_at = ?", [(datetime.now(UTC) + timedelta(seconds=5)).isoformat()]
    )
    page = kiosk.get("/apply/organisation").text
    keep = re.search(r'action="/kiosk/still-here"[^>]*>(.*?)</form>', page, re.S).group(1)
    assert kiosk.post("/kiosk/still-here", data={"csrf_token": token(keep)}).status_code == 204
    expires = datetime.fromisoformat(next(iter(db["drafts"].rows))["expires_at"])
    assert expires > datetime.now(UTC) + timedelta(seconds=150)
    db.close()


def test_server_forgets_an_abandoned_kiosk_draft_within_minutes(kiosk, kiosk_app, monkeypatch):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "ngo"})
    later = datetime.now(UTC) + timedelta(seconds=181)  # idle 120 s + grace 60 s
    monkeypatch.setattr(drafts, "_now", lambda: later)
    assert kiosk.get("/apply/check").headers["Location"].endswith("/")


def test_fields_never_offer_autofill_on_a_kiosk(kiosk):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "individual"})
    for path in ["/apply/person", "/apply/contact"]:
        page = kiosk.get(path).text
        assert '<form method="post" novalidate autocomplete="off"' in page
        tokens = re.findall(r'autocomplete="([^"]+)"', page)
        assert tokens and set(tokens) == {"off"}, (path, tokens)


def test_web_fields_keep_their_autocomplete_tokens(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    assert 'autocomplete="name"' in client.get("/apply/person").text


def test_idle_warning_is_on_kiosk_pages_only(kiosk, client):
    page = kiosk.get("/apply/applicant-type").text
    assert '<dialog class="idle-warning"' in page and 'data-idle-seconds="120"' in page
    assert "js/timeout.js" in page
    assert "idle-warning" not in client.get("/apply/applicant-type").text


def test_finish_after_submit_forgets_everything(kiosk, kiosk_app):
    answer_all(kiosk)
    submit(kiosk)
    page = kiosk.get("/apply/confirmation").text
    assert "Finish and clear the screen" in page
    finish = re.search(r'action="/kiosk/finish"[^>]*>(.*?)</form>', page, re.S).group(1)
    response = kiosk.post("/kiosk/finish", data={"csrf_token": token(finish)})
    assert response.headers["Location"] == "/kiosk"
    assert kiosk.get("/apply/confirmation").status_code == 404  # not even the reference


def test_receipt_has_a_qr_code_of_the_status_page(kiosk_app, kiosk):
    kiosk_app.config["PUBLIC_URL"] = "https://apply.example.kz"
    answer_all(kiosk)
    submit(kiosk)
    page = kiosk.get("/apply/receipt").text
    reference = re.search(r'class="reference">([^<]+)<', page).group(1)
    assert f"https://apply.example.kz/status?reference={reference}" in page
    assert '<svg role="img"' in page and "<title>" in page
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', page).group(1)
    css = kiosk.get(stylesheet).text
    assert "@page receipt{margin:3mm}" in css and "size:80mm auto" not in css  # an invalid size
    assert ":root.kiosk:has(.receipt) .main{max-width:74mm}" in css  # the roll's printable width


def test_bad_kiosk_region_stops_the_start(tmp_path):
    from kiosk.config import ConfigError, from_environment

    with pytest.raises(ConfigError, match="KIOSK_REGION"):
        from_environment({"KIOSK_REGION": "KZ-00"})


def _countdown(page: str) -> dict[str, str]:
    dialog = re.search(r'<dialog class="idle-warning"[^>]*>', page).group(0)
    return dict(re.findall(r'data-left-(\w+)="([^"]*)"', dialog))


def test_the_idle_countdown_carries_each_plural_form_once(kiosk):
    """Each language's own forms, and no copies: Kazakh has one form, English two and
    Russian three; timeout.js uses "other" for any form the page leaves out."""
    forms = {
        lang: _countdown(kiosk.get(f"/apply/applicant-type?lang={lang}").text)
        for lang in ("kk", "ru", "en")
    }
    assert forms["kk"] == {"other": "Жауаптарыңыз {n} секундтан кейін өшіріледі."}
    assert forms["en"] == {
        "one": "Your answers will be deleted in {n} second.",
        "other": "Your answers will be deleted in {n} seconds.",
    }
    assert set(forms["ru"]) == {"one", "few", "other"}
    assert forms["ru"]["one"].endswith("секунду.") and forms["ru"]["few"].endswith("секунды.")
    assert forms["ru"]["other"].endswith("секунд.")
