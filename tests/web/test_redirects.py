"""No user-given `next=` or `back=` leads off the site, or breaks the page."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from kiosk.staff import accounts
from tests.helpers import post_step

PASSWORD = "correct horse battery"

# As they would arrive in a query string (already percent-encoded where a browser would).
HOSTILE_QUERY = [
    "//evil.example",
    "/%5C%5Cevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0ASet-Cookie:x",
    "%2F%2Fevil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/%00",
    "/" + "a" * 10_000,
    "",
]


@pytest.fixture
def worker(app):
    with app.test_request_context("/"):
        accounts.add("aigerim", "Айгерім Серікова", "social_worker", "Алматы", PASSWORD)


@pytest.mark.parametrize("target", HOSTILE_QUERY)
def test_staff_sign_in_never_redirects_off_the_site(client, worker, target):
    url = f"/staff/login?next={target}"
    response = post_step(client, url, {"username": "aigerim", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff"


def test_staff_sign_in_follows_a_local_next(client, worker):
    url = "/staff/login?next=" + quote("/staff/admin/queue?x=1", safe="")
    response = post_step(client, url, {"username": "aigerim", "password": PASSWORD})
    assert response.headers["Location"] == "/staff/admin/queue?x=1"


@pytest.mark.parametrize("target", HOSTILE_QUERY)
def test_start_again_links_back_only_to_this_site(client, target):
    page = client.get(f"/start-again?back={target}")
    assert page.status_code == 200
    assert re.search(r'<a href="/" class="back-link">', page.text)
    assert 'name="keep"' in page.text  # "No, go back" posts; the server sends it back
    links = re.findall(r'href="([^"]*)"', page.text)
    # Only links back to this very page mention it, inside their query strings.
    here = ("/start-again?back=", "/accessibility?next=/start-again?back")
    assert all(link.startswith(here) for link in links if "evil" in link)


def test_start_again_links_back_to_a_local_page(client):
    page = client.get("/start-again?back=/apply/region").text
    assert '<a href="/apply/region" class="back-link">' in page


@pytest.mark.parametrize("target", HOSTILE_QUERY)
def test_accessibility_settings_return_only_to_this_site(client, target):
    response = post_step(
        client, f"/accessibility?next={target}", {"theme": "standard", "text_size": "large"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_expired_form_offers_no_link_to_a_crafted_path(client):
    page = client.post("/apply/%5C%5Cevil.example", data={}).text
    assert "This page has expired" in page
    assert "Go back to the page and try again" not in page


def test_expired_form_still_offers_the_way_back_to_its_page(client):
    page = client.post("/apply/title", data={}).text
    assert '<a href="/apply/title">' in page
