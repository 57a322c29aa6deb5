"""Accessibility settings: contrast and text size, kept in the session, without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.helpers import answer_all, post_step


def _html_classes(page: str) -> str:
    match = re.search(r'<html lang="\w+"(?: class="([^"]*)")?>', page)
    return match.group(1) or ""


def test_every_page_links_to_the_settings_with_a_way_back(client):
    page = client.get("/apply/region").text
    assert 'href="/accessibility?next=/apply/region"' in page
    assert 'href="/accessibility-statement"' in page


def test_saving_settings_applies_them_on_every_page_and_returns(client):
    response = post_step(
        client,
        "/accessibility?next=/apply/region",
        {"theme": "high-contrast", "text_size": "large"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/apply/region"
    for path in ["/", "/apply/region", "/missing", "/accessibility"]:
        page = client.get(path).text
        assert _html_classes(page) == "theme-high-contrast text-large", path
        assert len(re.findall(r'<link rel="stylesheet"', page)) == 1, path  # colours by class


def test_standard_theme_follows_the_system_contrast_wish(client):
    page = client.get("/").text
    assert _html_classes(page) == ""
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', page).group(1)
    css = client.get(stylesheet).text
    system = re.search(r"@media screen and \(prefers-contrast:more\)\{:root\{([^}]+)\}", css)
    chosen = re.search(r"@media screen\{:root\.theme-high-contrast\{([^}]+)\}", css)
    assert system and chosen and system.group(1) == chosen.group(1)  # the same colours


def test_settings_form_shows_the_current_choice(client):
    post_step(client, "/accessibility", {"theme": "high-contrast", "text_size": "standard"})
    page = client.get("/accessibility").text
    assert re.search(r'value="high-contrast"\s+checked', page)
    assert re.search(r'value="standard"\s+checked', page)


def test_settings_keep_the_answers(client):
    answer_all(client)
    post_step(
        client, "/accessibility?next=/apply/check", {"theme": "high-contrast", "text_size": "large"}
    )
    assert "Онлайн сурдоаударма" in client.get("/apply/check").text


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "javascript:alert(1)", "apply"]
)
def test_never_redirects_off_the_site(client, target):
    response = post_step(
        client, f"/accessibility?next={target}", {"theme": "standard", "text_size": "standard"}
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"theme": "", "text_size": "large"}, "Select a contrast"),
        ({"theme": "neon", "text_size": "large"}, "Select a contrast"),
        ({"theme": "standard", "text_size": "<script>"}, "Select a text size"),
    ],
)
def test_bad_settings_are_explained(client, data, message):
    response = post_step(client, "/accessibility", data)
    assert response.status_code == 200 and message in response.text
    assert response.text.count("<title>Error: ") == 1


def test_statement_names_the_standards_and_how_to_get_help(client):
    page = client.get("/accessibility-statement").text
    assert "WCAG" in page and "2.2" in page and "ST RK 2191-2023" in page
    assert "social worker" in page
