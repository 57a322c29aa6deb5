"""Shared helpers for tests: answering the journey the way a browser would."""

from __future__ import annotations

import io
import json
import re
from datetime import date

from kiosk.identifiers import check_digit
from tests.keys import open_sealed

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def with_check_digit(first_eleven: str) -> str:
    """A valid 12-digit IIN or BIN from its first 11 digits."""
    digit = check_digit(first_eleven)
    assert digit is not None, first_eleven
    return first_eleven + str(digit)


VALID_IIN = with_check_digit("88021530012")  # born 15 Feb 1988, man
VALID_BIN = with_check_digit("18034002179")  # registered March 2018


def token(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def post_step(client, path: str, data: dict, **kwargs):
    """GET the page for its form token, then POST the answers, as a browser would."""
    page = client.get(path)
    return client.post(path, data={**data, "csrf_token": token(page.text)}, **kwargs)


ORGANISATION_ANSWERS = [
    ("organisation", {"organisation_name": "«Қамқор» қоғамдық қоры", "bin": VALID_BIN}),
]
PERSON_ANSWERS = [
    ("person", {"full_name": "Әлия Нұрланқызы Сәрсенова", "iin": VALID_IIN}),
]


def common_answers(email: str | None = "info@qamqor.kz") -> list[tuple[str, dict]]:
    contact = {"contact_name": "Айгерім Серікова", "phone": "8 701 234 56 78"}
    if email is not None:
        contact["email"] = email
    return [
        ("region", {"region": "KZ-75"}),
        ("contact", contact),
        ("title", {"project_title": "Онлайн сурдоаударма"}),
        (
            "target-groups",
            {"target_groups": ["disabilities", "other"], "other_group": "Саңыраулар"},
        ),
        ("problem", {"problem": "Есту қабілеті бұзылған адамдарға аудармашы жетіспейді."}),
        ("activities", {"activities": "Бейне арқылы онлайн аударма, аптасына 7 күн."}),
        ("results", {"results": "Өткен жылы қызметті 300 адам пайдаланды."}),
        ("settlement", {"settlement": "Алматы"}),
        ("start-date", {"start_month": "3", "start_year": "2021"}),
        ("people", {"helped_last_year": "300", "helped_total": "1200"}),
        ("funding", {"funding_source": "sponsors"}),
    ]


def answers_for(applicant_type: str) -> list[tuple[str, dict]]:
    """Every step's answers, in order, for one applicant type."""
    individual = applicant_type == "individual"
    identity = PERSON_ANSWERS if individual else ORGANISATION_ANSWERS
    return [
        ("applicant-type", {"applicant_type": applicant_type}),
        *identity,
        *common_answers(email=None if individual else "info@qamqor.kz"),
    ]


def answer_all(client, applicant_type: str = "ngo") -> None:
    """Answer every question; the client ends on the check answers page."""
    for slug, data in answers_for(applicant_type):
        response = post_step(client, f"/apply/{slug}", data)
        assert response.status_code == 302, (slug, response.text[:2000])


def submit(client):
    """Agree to the declaration and send; returns the POST response."""
    return post_step(client, "/apply/declaration", {"consent": "y"})


def every_page(client) -> dict[str, str]:
    """Every page a person can reach, and every form page in its error state ("<page> error").

    Walked as an individual (the person step) and then as an NGO, to the confirmation and
    receipt, in whatever language and settings the client already has.
    """
    pages = {"start": client.get("/").text, "404": client.get("/missing").text}
    pages["settings"] = client.get("/accessibility").text
    pages["settings error"] = post_step(client, "/accessibility", {"theme": "neon"}).text
    pages["statement"] = client.get("/accessibility-statement").text
    pages["status"] = client.get("/status").text
    pages["staff login"] = client.get("/staff/login").text
    pages["csrf"] = client.post("/apply/title", data={}).text
    for slug, data in answers_for("individual")[:2] + answers_for("ngo"):
        path = f"/apply/{slug}"
        pages[slug] = client.get(path).text
        pages[f"{slug} error"] = client.post(path, data={"csrf_token": token(pages[slug])}).text
        post_step(client, path, data)
    pages.update(documents_pages(client))
    pages["check"] = client.get("/apply/check").text
    pages["declaration"] = client.get("/apply/declaration").text
    pages["declaration error"] = post_step(client, "/apply/declaration", {}).text
    submit(client)
    pages["confirmation"] = client.get("/apply/confirmation").text
    pages["receipt"] = client.get("/apply/receipt").text
    pages.update(saving_pages(client))
    return pages


def documents_pages(client) -> dict[str, str]:
    """The supporting documents page empty, with no file chosen, and with two files listed.

    Nothing where it is not offered (a public kiosk answers 404).
    """
    from tests import documents_samples as samples

    path = "/apply/documents"
    empty = client.get(path)
    if empty.status_code != 200:
        return {}
    pages = {"documents": empty.text}
    upload = {"csrf_token": token(empty.text), "action": "upload"}
    pages["documents error"] = client.post(
        path, data=upload, content_type="multipart/form-data"
    ).text
    files = [(io.BytesIO(samples.pdf()), "Смета.pdf"), (io.BytesIO(samples.png()), "photo.png")]
    client.post(path, data={**upload, "documents": files}, content_type="multipart/form-data")
    pages["documents with files"] = client.get(path).text
    return pages


def saving_pages(client) -> dict[str, str]:
    """The resume page and its errors, a save and its page, and the unfinished page resumed.

    Walked last: saving ends the draft (and, on a kiosk, the whole session), so the
    resume at the end brings the application, and its language, back.
    """
    pages = {"resume": client.get("/resume").text}
    pages["resume error"] = post_step(client, "/resume", {"code": ""}).text
    pages["resume check error"] = post_step(client, "/resume", {"code": WRONG_CHECK}).text
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    pages["saved"] = save(client, "person", {"full_name": "Әлия", "iin": "8802"}).text
    pages["resumed error"] = resume(client, code_on(pages["saved"]), follow_redirects=True).text
    return pages


WRONG_CHECK = "R7K3-M9QX-TW4P-J5"  # R7K3-M9QX-TW4P-JC with its check character changed
CODE = re.compile(
    r'class="reference" translate="no">(R[0-9A-Z]{3}(?:-[0-9A-Z]{4}){2}-[0-9A-Z]{2})<'
)


def code_on(html: str) -> str:
    """The return code a saved page shows."""
    match = CODE.search(html)
    assert match, "page shows no return code"
    return match.group(1)


def save(client, page: str, data: dict | None = None, **kwargs):
    """Press "Save and come back later" on a page (a step's slug, check or declaration).

    Follows the web's redirect to the saved page; a kiosk shows it in the response itself.
    """
    path = f"/apply/{page}"
    form = client.get(path)
    kwargs.setdefault("follow_redirects", True)
    return client.post(
        f"{path}/save", data={**(data or {}), "csrf_token": token(form.text)}, **kwargs
    )


def resume(client, code: str, **kwargs):
    """Enter a return code on the resume page, as a person would."""
    return post_step(client, "/resume", {"code": code}, **kwargs)


def queued_payload(row: dict) -> dict:
    """The payload inside an outbox row's envelope, which is always encrypted in tests."""
    assert json.loads(row["envelope"])["encryption"] != "none"
    return open_sealed(row["envelope"])


def current_year() -> int:
    return date.today().year
