"""The whole journey through the Flask test client, for every applicant type."""

from __future__ import annotations

import re

import pytest

from kiosk import competition
from tests.helpers import VALID_BIN, VALID_IIN, answer_all, post_step, queued_payload, submit


def _outbox_payloads(db) -> list[dict]:
    return [queued_payload(row) for row in db["outbox"].rows]


@pytest.mark.parametrize("applicant_type", list(competition.APPLICANT_TYPES))
def test_every_applicant_type_reaches_a_queued_submission(client, db, applicant_type):
    answer_all(client, applicant_type)
    check = client.get("/apply/check")
    assert check.status_code == 200
    assert "Check your answers" in check.text

    sent = submit(client)
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("/apply/confirmation")

    confirmation = client.get("/apply/confirmation")
    reference = re.search(r'class="reference">([0-9A-Z-]+)<', confirmation.text).group(1)
    assert "Application submitted" in confirmation.text

    submission = next(iter(db["submissions"].rows))
    assert submission["reference"] == reference
    assert db["outbox"].count == 1
    assert next(iter(db["outbox"].rows))["status"] == "queued"
    assert db["drafts"].count == 0  # the draft is deleted at submit

    payload = _outbox_payloads(db)[0]
    assert payload["submission_id"] == submission["id"]
    assert payload["applicant"]["type"] == applicant_type
    if applicant_type == "individual":
        assert payload["applicant"]["iin"] == VALID_IIN
        assert payload["contact"]["email"] is None  # optional for individuals
    else:
        assert payload["applicant"]["bin"] == VALID_BIN
        assert payload["contact"]["email"] == "info@qamqor.kz"
    assert payload["contact"]["phone"] == "+77012345678"
    assert payload["project"]["people_helped_total"] == 1200
    assert payload["project"]["started"] == "2021-03"
    assert payload["project"]["target_groups"] == ["disabilities", "other"]


def test_check_page_lists_every_answer_with_change_links(client):
    answer_all(client, "ngo")
    page = client.get("/apply/check").text
    for shown in ["«Қамқор» қоғамдық қоры", VALID_BIN, "+7 701 234 56 78", "Almaty", "March 2021"]:
        assert shown in page
    assert "Other socially vulnerable groups: Саңыраулар" in page
    links = re.findall(r'href="(/apply/[a-z-]+\?change=1)"', page)
    assert "/apply/organisation?change=1" in links
    assert "/apply/person?change=1" not in links  # an NGO never sees the IIN question


def test_change_link_returns_to_check_page(client):
    answer_all(client)
    page = client.get("/apply/title?change=1")
    assert 'href="/apply/check"' in page.text  # Back goes to the check page
    response = post_step(client, "/apply/title?change=1", {"project_title": "New title"})
    assert response.headers["Location"].endswith("/apply/check")
    assert "New title" in client.get("/apply/check").text


def test_changing_type_asks_the_new_question_then_returns_to_check(client, db):
    answer_all(client, "ngo")
    response = post_step(client, "/apply/applicant-type?change=1", {"applicant_type": "individual"})
    assert response.headers["Location"].endswith("/apply/person?change=1")
    response = post_step(
        client, "/apply/person?change=1", {"full_name": "Асан Серікұлы", "iin": VALID_IIN}
    )
    assert response.headers["Location"].endswith("/apply/check")
    submit(client)
    payload = _outbox_payloads(db)[0]
    assert payload["applicant"] == {
        "type": "individual",
        "full_name": "Асан Серікұлы",
        "iin": VALID_IIN,
    }


def test_back_link_and_browser_back_keep_answers(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    post_step(client, "/apply/organisation", {"organisation_name": "Qamqor", "bin": VALID_BIN})
    region_page = client.get("/apply/region").text
    assert 'href="/apply/organisation" class="back-link"' in region_page
    again = client.get("/apply/organisation").text  # what Back or the back button shows
    assert 'value="Qamqor"' in again and f'value="{VALID_BIN}"' in again
    first = client.get("/apply/applicant-type").text
    assert re.search(r'value="ngo"\s+checked', first)


def test_check_page_sends_unfinished_applicants_to_the_first_missing_question(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    response = client.get("/apply/check")
    assert response.headers["Location"].endswith("/apply/person")


def test_check_page_without_draft_goes_to_start(client):
    assert client.get("/apply/check").headers["Location"].endswith("/")


def test_declaration_requires_consent(client, db):
    answer_all(client)
    response = post_step(client, "/apply/declaration", {})
    assert response.status_code == 200
    assert "tick the box to agree" in response.text
    assert response.text.count("<title>Error: ") == 1
    assert db["submissions"].count == 0


def test_start_page_shows_deadline_and_start_button(client):
    page = client.get("/").text
    assert "Applications close on 30 June 2027" in page
    assert 'action="/apply/applicant-type"' in page  # "Start now", a button in a GET form


def test_confirmation_without_submission_is_not_found(client):
    assert client.get("/apply/confirmation").status_code == 404


def test_receipt_shows_reference_and_region(client, db):
    answer_all(client)
    submit(client)
    receipt = client.get("/apply/receipt").text
    reference = next(iter(db["submissions"].rows))["reference"]
    assert reference in receipt and "Almaty" in receipt
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', receipt).group(1)
    assert "@media print" in client.get(stylesheet).text


def test_a_question_hidden_for_this_applicant_redirects_to_the_start_of_the_journey(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    assert client.get("/apply/person").status_code == 302


def test_unknown_step_is_not_found_in_site_layout(client):
    response = client.get("/apply/nothing-here")
    assert response.status_code == 404
    assert "Page not found" in response.text and 'class="skip-link"' in response.text
