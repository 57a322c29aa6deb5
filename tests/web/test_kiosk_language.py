"""A kiosk speaks Kazakh first, whatever its browser's Accept-Language says.

A kiosk's browser is often set to English by whoever installed it: the header, the help screen
and read aloud start in Kazakh until the person in front of it picks a language. On the web,
Accept-Language still decides (tests/web/test_i18n.py).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import english_client


@pytest.fixture
def kiosk(make_app):
    return english_client(make_app(KIOSK_MODE=True))


def _lang(page: str) -> str:
    return re.search(r'<html lang="(\w+)"', page).group(1)


@pytest.mark.parametrize("path", ["/kiosk", "/kiosk/help", "/", "/apply/applicant-type"])
def test_an_english_browser_still_gets_kazakh_until_a_language_is_chosen(kiosk, path):
    page = kiosk.get(path).text
    assert _lang(page) == "kk", path
    assert "Accessibility" not in page and "Қолжетімділік" in page  # the header, in Kazakh


def test_the_help_screen_and_read_aloud_start_in_kazakh(kiosk):
    page = kiosk.get("/kiosk/help").text
    assert _lang(page) == "kk"
    assert "Do you want help" not in page
    labels = re.search(r'<template id="speech-labels"[^>]*>', page).group(0)
    assert 'data-read="Дауыстап оқу"' in labels, labels  # the read-aloud button's label


def test_a_chosen_language_is_kept(kiosk):
    assert _lang(kiosk.get("/kiosk/help?lang=en").text) == "en"
    assert _lang(kiosk.get("/").text) == "en"
    assert _lang(kiosk.get("/apply/applicant-type").text) == "en"


def test_the_web_still_follows_accept_language(make_app):
    client = english_client(make_app())
    assert _lang(client.get("/").text) == "en"
