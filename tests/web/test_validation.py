"""Every field with wrong, empty, huge (100 kB), hostile and other-script values.

A bad answer must come back on the same page: status 200, "Error: " in the
title, an error summary that links to the field, the message at the field, and
every value the person typed still in the form. Never a 500.
"""

from __future__ import annotations

import html
import re

import pytest

from kiosk.spoken import seen_and_heard
from tests.helpers import VALID_BIN, VALID_IIN, answer_all, current_year, post_step

HUGE = "ж" * 100_000
SCRIPT = "<script>alert(1)</script>"

VALID = {
    "applicant-type": {"applicant_type": "ngo"},
    "organisation": {"organisation_name": "Qamqor", "bin": VALID_BIN},
    "person": {"full_name": "Aliya Sarsenova", "iin": VALID_IIN},
    "region": {"region": "KZ-75"},
    "contact": {"contact_name": "Aigerim", "phone": "87012345678", "email": "a@qamqor.kz"},
    "title": {"project_title": "Sign language online"},
    "target-groups": {"target_groups": ["disabilities"], "other_group": ""},
    "problem": {"problem": "Too few interpreters."},
    "activities": {"activities": "Video interpreting."},
    "results": {"results": "300 people helped."},
    "settlement": {"settlement": "Almaty"},
    "start-date": {"start_month": "3", "start_year": "2021"},
    "people": {"helped_last_year": "300", "helped_total": "1200"},
    "funding": {"funding_source": "sponsors"},
}

# (step, field, value, a fragment of the English message)
BAD = [
    ("applicant-type", "applicant_type", "", "Select who is applying"),
    ("applicant-type", "applicant_type", "robot", "Select who is applying"),
    ("applicant-type", "applicant_type", HUGE, "Select who is applying"),
    ("applicant-type", "applicant_type", SCRIPT, "Select who is applying"),
    ("organisation", "organisation_name", "", "Enter the name of the organisation"),
    ("organisation", "organisation_name", "   \u200f ", "Enter the name of the organisation"),
    ("organisation", "organisation_name", HUGE, "Use 300 characters or fewer"),
    ("organisation", "organisation_name", "12345", "must contain letters"),
    ("organisation", "bin", "", "Enter the BIN"),
    ("organisation", "bin", "12345", "BIN must be 12 digits. You entered 5 digits"),
    ("organisation", "bin", "18034002179a", "only digits"),
    ("organisation", "bin", "١٨٠٣٤٠٠٢١٧٩١", "only digits"),
    ("organisation", "bin", "181340021791", "year and month of registration"),
    ("organisation", "bin", VALID_BIN[:11] + str((int(VALID_BIN[11]) + 1) % 10), "last digit"),
    ("organisation", "bin", HUGE, "only digits"),
    ("organisation", "bin", SCRIPT, "only digits"),
    ("person", "full_name", "", "Enter your full name"),
    ("person", "full_name", HUGE, "Use 200 characters or fewer"),
    ("person", "full_name", "\x00\x00", "Enter your full name"),
    ("person", "iin", "", "Enter your IIN"),
    ("person", "iin", "8802153001", "IIN must be 12 digits. You entered 10 digits"),
    ("person", "iin", "880230300125", "date of birth"),
    ("person", "iin", VALID_IIN[:11] + str((int(VALID_IIN[11]) + 1) % 10), "last digit"),
    ("person", "iin", "ЖСН880215300", "only digits"),
    ("region", "region", "", "Select the region"),
    ("region", "region", "KZ-99", "Select the region"),
    ("region", "region", SCRIPT, "Select the region"),
    ("contact", "contact_name", "", "Enter the contact person"),
    ("contact", "contact_name", HUGE, "Use 200 characters or fewer"),
    ("contact", "phone", "", "Enter a phone number"),
    ("contact", "phone", "call me", "Enter a phone number, like"),
    ("contact", "phone", "8 701 234", "not complete or not valid"),
    ("contact", "phone", HUGE, "Enter a phone number, like"),
    ("contact", "phone", "+7 (701) 234-56-78" + SCRIPT, "Enter a phone number, like"),
    ("contact", "email", "", "Enter an e-mail address"),
    ("contact", "email", "not-an-address", "correct format"),
    ("contact", "email", "a@" + "b" * 300 + ".kz", "correct format"),
    ("contact", "email", '"><script>@x.kz', "correct format"),
    ("title", "project_title", "", "Enter the project title"),
    ("title", "project_title", HUGE, "Use 150 characters or fewer"),
    ("title", "project_title", "!!!", "must contain letters"),
    ("target-groups", "target_groups", [], "Select at least one group"),
    ("target-groups", "target_groups", ["aliens"], "Select at least one group"),
    ("target-groups", "target_groups", [SCRIPT], "Select at least one group"),
    ("problem", "problem", "", "Describe the problem"),
    ("problem", "problem", HUGE, "Use 2000 characters or fewer"),
    ("activities", "activities", "\n\n\t  ", "Describe what the project does"),
    # From 10 000 a count is seen grouped and heard plain (kiosk/spoken.py).
    ("activities", "activities", HUGE, f"You have {seen_and_heard('98,000', '98000')} characters"),
    ("results", "results", "", "Describe what the project has achieved"),
    ("results", "results", "ә" * 1501, "You have 1 character too many"),
    ("settlement", "settlement", "", "Enter the city, town or village"),
    ("settlement", "settlement", HUGE, "Use 100 characters or fewer"),
    ("start-date", "start_month", "", "Enter the month"),
    ("start-date", "start_month", "13", "from 1 to 12"),
    ("start-date", "start_month", "March", "from 1 to 12"),
    ("start-date", "start_year", "", "Enter the year"),
    ("start-date", "start_year", "21", "Year must be 4 digits"),
    ("start-date", "start_year", "1800", "Year must be 4 digits"),
    ("start-date", "start_year", str(current_year() + 1), "Year must be 4 digits"),
    ("start-date", "start_year", HUGE, "Year must be 4 digits"),
    ("people", "helped_last_year", "", "helped last year"),
    ("people", "helped_last_year", "-5", "whole number"),
    ("people", "helped_last_year", "3.5", "whole number"),
    ("people", "helped_last_year", "many", "whole number"),
    ("people", "helped_last_year", "99999999999", seen_and_heard("10,000,000", "10000000")),
    ("people", "helped_total", "", "helped in total"),
    ("people", "helped_total", "100", "cannot be smaller"),
    ("people", "helped_total", HUGE, "whole number"),
    ("funding", "funding_source", "", "Select how the project is funded"),
    ("funding", "funding_source", "bank robbery", "Select how the project is funded"),
]


def _prepare(client, step: str) -> None:
    """Answer what comes before `step`, so the step is shown to this applicant."""
    if step == "person":
        post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    elif step != "applicant-type":
        post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})


@pytest.mark.parametrize(("step", "field", "value", "message"), BAD)
def test_bad_value_is_explained_on_the_same_page(client, step, field, value, message):
    _prepare(client, step)
    data = {**VALID[step], field: value}
    response = post_step(client, f"/apply/{step}", data)
    page = response.text

    assert response.status_code == 200
    assert re.search(r"<title>Error: ", page), "title must start with Error:"
    start = page.index('class="error-summary"')
    summary = page[start : page.index("</ul>", start)]
    assert "There is a problem" in summary
    assert message in html.unescape(page), f"expected {message!r}"
    assert re.search(rf'href="#{field}(-0)?"', summary), "summary must link to the field"
    assert f'id="{field}-error"' in page, "the message must also stand at the field"
    assert SCRIPT not in page, "user input must be escaped"
    for other, kept in data.items():  # every other value typed is still there
        if other != field and isinstance(kept, str) and kept:
            assert html.escape(kept, quote=True) in page, f"{other} was not kept"


def test_organisation_must_give_email_but_individual_need_not(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    data = {**VALID["contact"], "email": ""}
    assert post_step(client, "/apply/contact", data).status_code == 302


def test_other_group_must_be_named_when_other_is_ticked(client):
    _prepare(client, "target-groups")
    data = {"target_groups": ["disabilities", "other"], "other_group": ""}
    response = post_step(client, "/apply/target-groups", data)
    assert "Say which other group" in response.text
    assert 'href="#other_group"' in response.text
    # The reveal box stays open (and shows the error) without any JavaScript.
    assert "checkboxes__conditional checkboxes__conditional--open" in response.text


def test_hostile_text_is_kept_as_text_and_escaped_everywhere(client, db):
    answer_all(client)
    title = 'Жоба "<b>bold</b>" \u202eevil\u202c\x00 & <script>alert(1)</script>'
    response = post_step(client, "/apply/title?change=1", {"project_title": title})
    assert response.status_code == 302
    page = client.get("/apply/check").text
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "\x00" not in page  # bidi override and NUL removed


def test_other_scripts_are_welcome_in_names(client):
    _prepare(client, "organisation")
    for name in ["Қамқор", "Забота", "关怀基金会", "مؤسسة الرعاية", "Qamqor"]:
        data = {"organisation_name": name, "bin": VALID_BIN}
        assert post_step(client, "/apply/organisation", data).status_code == 302


def test_numbers_with_spaces_and_full_width_digits_are_accepted(client, db):
    _prepare(client, "organisation")
    spaced = f"{VALID_BIN[:6]} {VALID_BIN[6:]}"
    response = post_step(client, "/apply/organisation", {"organisation_name": "Q", "bin": spaced})
    assert response.status_code == 302
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "1200")
    post = {"helped_last_year": "30", "helped_total": full_width}
    assert post_step(client, "/apply/people", post).status_code == 302


def test_a_body_over_the_size_limit_gets_a_page_in_the_site_layout(client):
    response = client.post("/apply/problem", data={"problem": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too much to send" in response.text and 'class="skip-link"' in response.text
