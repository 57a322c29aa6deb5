"""Save and come back later, and continue a saved application with its return code."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import escape

import pytest

from kiosk import deposits, return_codes, saved
from kiosk.i18n import format_day
from kiosk.staff import accounts
from tests.conftest import english_client
from tests.helpers import (
    VALID_IIN,
    WRONG_CHECK,
    answer_all,
    answers_for,
    code_on,
    post_step,
    resume,
    save,
    submit,
    token,
)

PASSWORD = "correct horse battery"
NAME = "Әлия Нұрланқызы Сәрсенова"
UNKNOWN = "No application is saved with this code"
EXPIRED = "The application saved with this code is no longer kept"
SHAPE = "Check the code: a return code starts with R and has 14 letters and digits"
CHECK = "Check the code: one character is wrong"
EMPTY = "Enter your return code"
OFFLINE = "We cannot reach the other kiosks and websites just now."
OTHER_DEVICE = "This application was opened with its return code on another device"
NOT_YOURS = "This application was started with a social worker, and only they can continue it."


@pytest.fixture(autouse=True)
def registry_holds_nothing(monkeypatch):
    """The registry answers, and holds no saved application (tests change it as needed)."""
    monkeypatch.setattr(deposits, "fetch", lambda lookup, quick=False: None)


def _fresh(app):
    return english_client(app)


def _errors(page: str) -> list[str]:
    """The messages at the fields, as read after the hidden "Error:"."""
    return re.findall(
        r'class="error-message"><span class="visually-hidden">Error:</span> (.*?)</p>', page
    )


def _summary(page: str) -> list[str]:
    start = page.index('class="error-summary"')
    return re.findall(
        r"<li>(?:<a [^>]*>)?(.*?)(?:</a>)?</li>", page[start : page.index("</ul>", start)]
    )


def _notices(page: str) -> list[str]:
    return re.findall(r'<p class="notice__text">(.*?)</p>', page, re.S)


def _shows(page: str, name: str, value) -> bool:
    """Whether the page shows this answer: a ticked choice, or the text in its box."""
    for item in value if isinstance(value, list) else [value]:
        choice = re.search(
            rf'name="{name}" type="(?:radio|checkbox)" value="{re.escape(item)}"', page
        )
        if choice:
            ticked = rf'name="{name}" type="(?:radio|checkbox)" value="{re.escape(item)}"\s+checked'
            if not re.search(ticked, page):
                return False
        elif f'value="{escape(item)}"' not in page and f">{escape(item)}</textarea>" not in page:
            return False
    return True


def _as_stored(name: str, value):
    return "+77012345678" if name == "phone" else value


def _steps(applicant_type: str) -> list[tuple[str, int]]:
    return [(applicant_type, index) for index in range(len(answers_for(applicant_type)))]


# Save on every page, resume anywhere ---------------------------------------------------


@pytest.mark.parametrize(
    ("applicant_type", "index"),
    _steps("individual") + _steps("ngo"),
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_save_on_any_step_and_resume_in_a_fresh_browser(app, client, applicant_type, index):
    journey = answers_for(applicant_type)
    for slug, data in journey[:index]:
        post_step(client, f"/apply/{slug}", data)
    slug, data = journey[index]
    page = save(client, slug, data)
    assert page.status_code == 200 and "Your application is saved" in page.text
    other = _fresh(app)
    landed = resume(other, code_on(page.text))
    following = journey[index + 1][0] if index + 1 < len(journey) else "check"
    expected = "/apply/check" if following == "check" else f"/apply/{following}"
    assert landed.status_code == 303 and landed.headers["Location"] == expected
    assert other.get(expected).status_code == 200
    shown = other.get(f"/apply/{slug}").text
    for name, value in data.items():
        assert _shows(shown, name, _as_stored(name, value)), (slug, name)
    assert _shows(other.get(f"/apply/{journey[0][0]}").text, "applicant_type", applicant_type)


def test_saving_an_empty_first_page_starts_an_application_to_come_back_to(app, client):
    page = save(client, "applicant-type")
    landed = resume(_fresh(app), code_on(page.text))
    assert landed.headers["Location"] == "/apply/applicant-type"


def test_save_with_mistakes_brings_the_same_page_and_messages_back_once(app, client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    typed = {"full_name": "Әлия", "iin": "880215300120"}
    expected = _errors(post_step(client, "/apply/person", typed).text)
    assert expected  # the check digit is wrong
    page = save(client, "person", typed)
    other = _fresh(app)
    landed = resume(other, code_on(page.text))
    assert landed.headers["Location"] == "/apply/person"
    back = other.get("/apply/person").text
    assert _errors(back) == expected and expected[0] in _summary(back)
    assert back.count('value="880215300120"') == 1 and 'value="Әлия"' in back
    assert "<title>Error: " in back
    again = other.get("/apply/person").text  # shown once, then as the answers stand
    assert _errors(again) == [] and "880215300120" not in again


@pytest.mark.parametrize("page", ["check", "declaration"])
def test_save_on_the_check_page_and_declaration_resumes_at_the_check_page(app, client, page):
    answer_all(client)
    saved_page = save(client, page, {"consent": "y"} if page == "declaration" else {})
    other = _fresh(app)
    landed = resume(other, code_on(saved_page.text))
    assert landed.headers["Location"] == "/apply/check"
    assert "Онлайн сурдоаударма" in other.get("/apply/check").text


def test_the_save_button_comes_after_the_main_one_on_every_page_with_one(client):
    answer_all(client)
    for path in ("/apply/applicant-type", "/apply/people", "/apply/check", "/apply/declaration"):
        page = client.get(path).text
        main = page[page.index("<main") : page.index("</main>")]
        buttons = re.findall(r'<button type="submit"[^>]*>([^<]+)</button>', main)
        assert buttons[-1] == "Save and come back later", path
        assert buttons[0] in ("Continue", "Submit application"), path


def test_saving_needs_the_form_token(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    refused = client.post("/apply/title/save", data={"project_title": "Жоба"})
    assert refused.status_code == 400
    assert client.get("/apply/applicant-type").text.count("checked") == 1  # the draft is still here


def test_saved_page_shows_the_code_grouped_heard_one_by_one_and_the_date(app, client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    response = save(client, "organisation", follow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/apply/saved"
    page = client.get("/apply/saved").text
    code = code_on(page)
    assert return_codes.read(code) == code
    assert f'<span class="visually-hidden">{", ".join(code.replace("-", ""))}</span>' in page
    with app.test_request_context("/?lang=en"):
        day = format_day(saved.expiry())
    assert re.search(rf"Your answers are kept until {day}, \d\d:\d\d\. After that", page)
    assert "data-print" in page and "/static/" in page and "print.js" in page
    assert 'href="/resume"' in page
    assert client.get("/apply/saved").text.count(code) == 1  # a reload shows it again


def test_saved_page_without_a_save_goes_to_the_start(client):
    assert client.get("/apply/saved").headers["Location"] == "/"


def test_saving_again_after_a_resume_keeps_the_same_code(app, client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    other = _fresh(app)
    resume(other, code)
    again = save(other, "organisation", {"organisation_name": "«Қамқор» қоры"})
    assert code_on(again.text) == code


# After resuming -----------------------------------------------------------------------


def test_a_resumed_application_submits_and_its_saved_copy_is_gone(app, client, db):
    answer_all(client)
    code = code_on(save(client, "check").text)
    other = _fresh(app)
    resume(other, code)
    sent = submit(other)
    assert sent.status_code == 303 and sent.headers["Location"] == "/apply/confirmation"
    assert "Application submitted" in other.get("/apply/confirmation").text
    assert db["saved"].count == 0 and db["drafts"].count == 0
    assert UNKNOWN in resume(_fresh(app), code).text


def test_the_language_it_was_saved_in_comes_back(app):
    russian = _fresh(app)
    russian.get("/?lang=ru")
    post_step(russian, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(russian, "organisation").text)
    other = _fresh(app)  # its browser asks for English
    landed = resume(other, code, follow_redirects=True)
    assert '<html lang="ru"' in landed.text
    assert '<html lang="ru"' in other.get("/apply/region").text
    assert '<html lang="kk"' in other.get("/apply/region?lang=kk").text  # and can switch


def test_a_second_resume_ends_the_first_and_that_browser_is_told(app, client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    post_step(client, "/apply/person", {"full_name": NAME, "iin": VALID_IIN})
    code = code_on(save(client, "region").text)
    first, second = _fresh(app), _fresh(app)
    resume(first, code)
    resume(second, code)
    page = first.get("/apply/person", follow_redirects=True).text
    assert any(OTHER_DEVICE in notice for notice in _notices(page))
    assert NAME not in page
    assert "Your earlier answers were deleted" not in page
    assert NAME in second.get("/apply/person").text
    assert OTHER_DEVICE not in first.get("/apply/person", follow_redirects=True).text  # once


# What a code can be -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", EMPTY),
        ("   ", EMPTY),
        (WRONG_CHECK, CHECK),
        (WRONG_CHECK.lower(), CHECK),
        ("R7K3-M9QX", SHAPE),
        ("x" * 100_000, SHAPE),
        ("R7K3\x00M9QX-TW4P-JC<", SHAPE),
        ("<script>alert(1)</script>", SHAPE),
        ("7K3M-9QXT-W", SHAPE),  # a reference number, not a return code
        ("\u202eR7K3-M9QX-TW4P-JC", UNKNOWN),  # the override dropped: a code nobody saved
        ("r7k3 m9qx tw4p jc", UNKNOWN),
    ],
    ids=[
        "empty",
        "spaces",
        "check",
        "check-lower",
        "short",
        "huge",
        "nul",
        "script",
        "reference",
        "rtl",
        "spaced",
    ],
)
def test_what_is_not_a_code_gets_a_message_on_the_same_page(client, typed, message):
    response = resume(client, typed)
    assert response.status_code == 200
    page = response.text
    assert '<h1 class="heading-l">Continue a saved application</h1>' in page
    assert any(message in error for error in _errors(page)), _errors(page)
    assert any(message in item for item in _summary(page))
    assert "<script>alert" not in page and "\x00" not in page and "\u202e" not in page
    assert 'name="code"' in page


def test_the_code_field_is_for_a_code(client):
    page = client.get("/resume").text
    field = re.search(r'<input [^>]*name="code"[^>]*>', page).group(0)
    for attribute in ('autocomplete="off"', 'autocapitalize="characters"', 'spellcheck="false"'):
        assert attribute in field
    assert 'inputmode="text"' in field and 'type="text"' in field
    hint = re.search(r'id="code-hint"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "R, 7, K, 3, M, 9, Q, X, T, W, 4, P, J, C" in hint


def test_an_unknown_code_says_so_and_keeps_what_was_typed(client):
    code = return_codes.new_code()
    page = resume(client, code).text
    assert any(UNKNOWN in error for error in _errors(page))
    assert f'value="{code}"' in page


def test_an_expired_code_says_it_is_too_late(app, client, db):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    db.execute(
        "UPDATE saved SET expires_at = ?", [(datetime.now(UTC) - timedelta(minutes=1)).isoformat()]
    )
    db.conn.commit()
    page = resume(_fresh(app), code).text
    assert any(EXPIRED in error for error in _errors(page)) and UNKNOWN not in page


def test_a_code_the_registry_holds_past_its_date_is_too_late(app, client, db, monkeypatch):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    blob = json.loads(db.execute("SELECT blob FROM saved").fetchone()[0])
    db.execute("DELETE FROM saved")
    db.conn.commit()
    blob["expires_at"] = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    monkeypatch.setattr(deposits, "fetch", lambda lookup, quick=False: blob)
    page = resume(_fresh(app), code).text
    assert any(EXPIRED in error for error in _errors(page))


def test_a_code_the_registry_has_deleted_at_its_date_is_too_late(client, monkeypatch):
    def gone(lookup, quick=False):
        raise deposits.Expired(lookup[:8])

    monkeypatch.setattr(deposits, "fetch", gone)
    page = resume(client, return_codes.new_code()).text
    assert any(EXPIRED in error for error in _errors(page))


def test_a_code_saved_on_another_node_opens_from_the_registry(app, client, db, monkeypatch):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    blob = json.loads(db.execute("SELECT blob FROM saved").fetchone()[0])
    db.execute("DELETE FROM saved")
    db.conn.commit()
    asked = []
    monkeypatch.setattr(deposits, "fetch", lambda lookup, quick=False: asked.append(lookup) or blob)
    other = _fresh(app)
    assert resume(other, code).headers["Location"] == "/apply/organisation"
    assert asked == [return_codes.lookup_id(code)]
    assert _shows(other.get("/apply/applicant-type").text, "applicant_type", "ngo")


def test_when_the_registry_cannot_be_reached_the_page_says_so(client, monkeypatch):
    def unreachable(lookup, quick=False):
        raise deposits.Unreachable("offline")

    monkeypatch.setattr(deposits, "fetch", unreachable)
    code = return_codes.new_code()
    response = resume(client, code)
    assert response.status_code == 200
    assert any(OFFLINE in error for error in _errors(response.text))
    assert f'value="{code}"' in response.text


def test_a_code_that_found_nothing_costs_what_a_wrong_one_does(app, client, monkeypatch):
    runs = []
    real = saved._key
    monkeypatch.setattr(saved, "_key", lambda *args: runs.append(1) or real(*args))
    resume(client, return_codes.new_code())
    assert runs == [1]  # the KDF ran once, on a blob that opens for nobody


# Throttling ---------------------------------------------------------------------------


def test_after_the_failures_allowed_even_the_right_code_must_wait(make_app):
    app = make_app(LIMIT_RESUME="3 per 15 minutes")
    client = english_client(app)
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    guesser = english_client(app)
    for _ in range(3):
        assert UNKNOWN in resume(guesser, return_codes.new_code()).text
    refused = resume(guesser, code)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Please wait before trying again" in refused.text
    assert guesser.get("/apply/check").headers["Location"] == "/"  # nothing was opened


def test_typing_mistakes_are_not_counted_as_guesses(make_app):
    app = make_app(LIMIT_RESUME="3 per 15 minutes")
    client = english_client(app)
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    code = code_on(save(client, "organisation").text)
    other = english_client(app)
    for typed in ("", WRONG_CHECK, "R7K3", WRONG_CHECK):
        resume(other, typed)
    assert resume(other, code).status_code == 303


# Assisted applications ----------------------------------------------------------------


@pytest.fixture
def staff(app):
    with app.test_request_context("/"):
        return {
            "aigerim": accounts.add(
                "aigerim", "Айгерім Серікова", "social_worker", "Алматы ӘҚКО", PASSWORD
            ),
            "dmitry": accounts.add("dmitry", "Дмитрий Ким", "social_worker", "Астана", PASSWORD),
            "admin": accounts.add("admin", "Ержан Әбілов", "admin", "Алматы ӘҚКО", PASSWORD),
            "other_admin": accounts.add("boss", "Мария Ли", "admin", "Астана", PASSWORD),
        }


def _signed_in(app, username: str):
    client = english_client(app)
    post_step(client, "/staff/login", {"username": username, "password": PASSWORD})
    return client


def _assisted_code(app) -> str:
    worker = _signed_in(app, "aigerim")
    dashboard = worker.get("/staff").text
    form = re.search(r'action="/staff/assist"[^>]*>(.*?)</form>', dashboard, re.S).group(1)
    worker.post("/staff/assist", data={"csrf_token": token(form)})
    post_step(worker, "/apply/applicant-type", {"applicant_type": "individual"})
    page = save(worker, "person", {"full_name": NAME, "iin": VALID_IIN})
    assert "Your application is saved" in page.text
    return code_on(page.text)


@pytest.mark.parametrize("who", [None, "dmitry", "other_admin"])
def test_an_assisted_application_opens_for_nobody_else(app, staff, db, who):
    code = _assisted_code(app)
    someone = _signed_in(app, who) if who else english_client(app)
    page = resume(someone, code).text
    assert any(NOT_YOURS in error for error in _errors(page))
    assert NAME not in page
    assert db["drafts"].count == 0
    assert db.execute("SELECT live_draft_id FROM saved").fetchone()[0] is None


@pytest.mark.parametrize("who", ["aigerim", "admin"])
def test_an_assisted_application_opens_for_its_worker_or_the_centres_admin(app, staff, who):
    code = _assisted_code(app)
    person = _signed_in(app, who)
    landed = resume(person, code)
    assert landed.headers["Location"] == "/apply/region"
    assert NAME in person.get("/apply/person").text


def test_staff_pages_offer_to_continue_a_saved_application(app, staff):
    assert 'action="/resume"' in _signed_in(app, "aigerim").get("/staff").text
    assert 'href="/resume"' in _signed_in(app, "admin").get("/staff").text


# Kiosk --------------------------------------------------------------------------------


@pytest.fixture
def kiosk_app(make_app):
    return make_app(KIOSK_MODE=True)


@pytest.fixture
def kiosk(kiosk_app):
    client = english_client(kiosk_app)
    client.get("/kiosk/help?lang=en")
    return client


def _slip(page: str) -> str:
    start = page.index('<div class="receipt receipt--code">')
    return page[start : page.index("</div>\n", page.index("</dl>", start)) + 6]


def test_on_a_kiosk_the_save_forgets_the_applicant_at_once(kiosk, kiosk_app, db):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "individual"})
    response = save(kiosk, "person", {"full_name": NAME, "iin": VALID_IIN}, follow_redirects=False)
    assert response.status_code == 200  # the page itself: nothing kept to redirect to
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert "storage" in response.headers["Clear-Site-Data"]
    assert db["drafts"].count == 0
    with kiosk.session_transaction() as session:
        assert dict(session) == {}
    code = code_on(response.text)
    assert "Your application is saved" in response.text and "Kept until" in response.text
    assert 'action="/kiosk/finish"' in response.text
    assert kiosk.get("/apply/saved").headers["Location"] == "/"  # not kept anywhere
    end_form = re.search(r'action="/kiosk/timeout"[^>]*>(.*?)</form>', response.text, re.S)
    idle = kiosk.post("/kiosk/timeout", data={"csrf_token": token(end_form.group(1))})
    assert idle.status_code == 302 and idle.headers["Location"] == "/kiosk"  # the first screen
    landed = resume(english_client(kiosk_app), code)
    assert landed.headers["Location"] == "/apply/region"


def test_the_kiosk_slip_holds_only_the_code_and_its_date(kiosk):
    post_step(kiosk, "/apply/applicant-type", {"applicant_type": "individual"})
    post_step(kiosk, "/apply/person", {"full_name": NAME, "iin": VALID_IIN})
    post_step(kiosk, "/apply/region", {"region": "KZ-75"})
    page = save(
        kiosk, "contact", {"contact_name": "Айгерім Серікова", "phone": "8 701 234 56 78"}
    ).text
    slip = _slip(page)
    assert code_on(slip) == code_on(page)
    assert re.search(r"Kept until</dt><dd[^>]*>\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d<", slip)
    for secret in (NAME, "Әлия", VALID_IIN, "Серікова", "+77012345678", "Almaty"):
        assert secret not in page, secret
    assert "base-kiosk-receipt" in page or "receipt.css" in page  # the 80 mm print
    assert "print.js" in page and "data-print" in page


def test_a_kiosk_offers_to_continue_a_saved_application_after_the_language(kiosk):
    assert 'action="/resume"' in kiosk.get("/").text


# E-mail me the code -------------------------------------------------------------------


@pytest.fixture
def mail_app(make_app, smtp_sink):
    """A web node that sends mail through a real SMTP server on 127.0.0.1 (tests/smtp.py)."""
    app = make_app(
        SMTP_HOST=smtp_sink.host,
        SMTP_PORT=smtp_sink.port,
        MAIL_FROM="noreply@konkurs.example.kz",
        HOST="127.0.0.1",
        PORT=8000,
    )
    app.smtp_sink = smtp_sink
    return app


def _saved_with_mail(app) -> tuple:
    client = english_client(app)
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = save(client, "organisation").text
    return client, page


def test_no_mail_server_no_email_form(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = save(client, "organisation").text
    assert "E-mail me the code" not in page
    form = client.get("/resume").text
    sent = client.post("/apply/saved/email", data={"csrf_token": token(form), "email": "a@b.kz"})
    assert sent.status_code == 404


def test_the_code_is_emailed_with_the_link_to_continue(mail_app):
    client, page = _saved_with_mail(mail_app)
    field = re.search(r'<input [^>]*name="email"[^>]*>', page).group(0)
    assert 'type="email"' in field and 'autocomplete="email"' in field
    response = client.post(
        "/apply/saved/email", data={"csrf_token": token(page), "email": " Aliya@Example.KZ "}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/apply/saved"
    shown = client.get("/apply/saved").text
    assert "We sent the code to Aliya@example.kz." in _notices(shown)
    [message] = mail_app.smtp_sink.messages
    assert message["To"] == "Aliya@example.kz"
    body = message.get_content()
    assert code_on(page) in body and "http://127.0.0.1:8000/resume" in body


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your e-mail address"),
        ("aliya@", "Enter an e-mail address in the correct format, like name@example.kz"),
        (
            "a@b.kz\nBcc: x@y.kz",
            "Enter an e-mail address in the correct format, like name@example.kz",
        ),
    ],
)
def test_a_wrong_address_is_explained_at_the_field(mail_app, typed, message):
    client, page = _saved_with_mail(mail_app)
    response = client.post("/apply/saved/email", data={"csrf_token": token(page), "email": typed})
    assert response.status_code == 200
    assert _errors(response.text) == [message] and message in _summary(response.text)
    assert "<title>Error: " in response.text and code_on(response.text) == code_on(page)
    assert mail_app.smtp_sink.messages == []


def test_when_the_mail_server_fails_the_page_says_so(mail_app):
    mail_app.smtp_sink.refuse("421 Service not available", at="RCPT")
    client, page = _saved_with_mail(mail_app)
    response = client.post(
        "/apply/saved/email", data={"csrf_token": token(page), "email": "a@b.kz"}
    )
    assert "The e-mail could not be sent just now." in " ".join(_summary(response.text))
    assert code_on(response.text) == code_on(page)


# The way in, and the audit log --------------------------------------------------------


def test_the_start_page_offers_to_continue_a_saved_application(client):
    page = client.get("/").text
    assert 'action="/resume"' in page
    assert page.index("Start now") < page.index("Continue a saved application")


def test_save_and_resume_are_audited_without_answers(app, client, db):
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    post_step(client, "/apply/person", {"full_name": NAME, "iin": VALID_IIN})
    code = code_on(save(client, "region").text)
    resume(_fresh(app), code)
    rows = list(db.execute("SELECT event, staff_id, reference, detail FROM audit ORDER BY id"))
    assert [row[0] for row in rows] == ["save", "resume"]
    assert all(row[1:] == (None, None, None) for row in rows)
    everything = json.dumps(list(db.execute("SELECT * FROM audit")), ensure_ascii=False)
    for secret in (NAME, VALID_IIN, code, code.replace("-", "")):
        assert secret not in everything
