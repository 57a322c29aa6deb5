"""The supporting documents page with no script: upload, list, remove, continue, submit.

Each file is a real one made in memory (tests/documents_samples.py) and posted as a
browser posts a multipart form. What the node keeps is checked in its database: sealed
bytes only, which the test registry's key opens.
"""

from __future__ import annotations

import io
import json
import re
from html import escape
from pathlib import Path

import pytest
from PIL import Image

from kiosk import envelope
from kiosk.competition import Documents
from kiosk.db import connect
from tests import documents_samples as samples
from tests.helpers import (
    answers_for,
    code_on,
    post_step,
    queued_payload,
    resume,
    save,
    submit,
    token,
)
from tests.keys import ENCRYPTION_KEY

PAGE = "/apply/documents"


@pytest.fixture
def app(make_app):
    return make_app(DOCUMENTS=True, SAVED_SCRYPT={"n": 2**10, "r": 8, "p": 1})


@pytest.fixture
def answered(client):
    """A client that has answered every question, up to the funding page."""
    for slug, data in answers_for("ngo"):
        post_step(client, f"/apply/{slug}", data)
    return client


def upload(client, *files: tuple[str, bytes], path: str = PAGE, **extra):
    """Choose these files and press Upload, as a browser posts the form."""
    page = client.get(path)
    data = {
        "csrf_token": token(page.text),
        "action": "upload",
        "documents": [(io.BytesIO(content), name) for name, content in files],
        **extra,
    }
    return client.post(path, data=data, content_type="multipart/form-data")


def press(client, action: str | None = None, path: str = PAGE):
    page = client.get(path)
    data = {"csrf_token": token(page.text)}
    if action:
        data["action"] = action
    return client.post(path, data=data, content_type="multipart/form-data")


def attachment_rows(app) -> list[dict]:
    db = connect(app.config["DATABASE"])
    try:
        return list(db["attachments"].rows)
    finally:
        db.close()


def draft_answers(app) -> dict:
    db = connect(app.config["DATABASE"])
    try:
        [row] = list(db["drafts"].rows)
        return json.loads(row["answers"])
    finally:
        db.close()


def opened(row: dict) -> bytes:
    """The cleaned file inside a kept row, opened with the test registry's key."""
    assert row["encryption"] == envelope.HPKE
    return envelope.open_file(
        row["sealed"],
        encryption=row["encryption"],
        node_id=NODE_ID[0],
        submission_id=row["submission_id"],
        sha256=row["sha256"],
        registry_key=ENCRYPTION_KEY,
    )


NODE_ID: list[str] = []


@pytest.fixture(autouse=True)
def node_id(app):
    with app.app_context():
        from kiosk.node import identity

        NODE_ID[:] = [identity().node_id]


def errors(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", item).strip()
        for item in re.findall(r'<p><span class="visually-hidden">Error:</span>(.*?)</p>', html)
    ]


# Where the page is ------------------------------------------------------------------------


def test_switched_off_there_is_no_documents_page_and_funding_leads_to_the_check_page(make_app):
    client = make_app(DOCUMENTS=False).test_client()
    for slug, data in answers_for("ngo"):
        last = post_step(client, f"/apply/{slug}", data)
    assert last.headers["Location"] == "/apply/check"
    assert client.get(PAGE).status_code == 404
    assert "Supporting documents" not in client.get("/apply/check").text


def test_the_page_comes_after_funding_and_leads_to_the_check_page(client):
    journey = answers_for("ngo")
    for slug, data in journey[:-1]:
        post_step(client, f"/apply/{slug}", data)
    slug, data = journey[-1]
    assert slug == "funding"
    assert post_step(client, f"/apply/{slug}", data).headers["Location"] == PAGE
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "<h1" in page.text and "Supporting documents (optional)" in page.text
    assert 'type="file"' in page.text and "multiple" in page.text
    assert 'href="/apply/funding"' in page.text  # Back
    going_on = press(client)
    assert going_on.status_code == 303 and going_on.headers["Location"] == "/apply/check"
    check = client.get("/apply/check")
    assert "Supporting documents (optional)" in check.text and "None added" in check.text
    assert 'href="/apply/documents?change=1"' in check.text
    assert 'href="/apply/documents"' in check.text  # the check page's Back


def test_a_public_kiosk_has_no_documents_page(make_app):
    kiosk = make_app(DOCUMENTS=True, KIOSK_MODE=True)
    client = kiosk.test_client()
    journey = answers_for("ngo")
    for slug, data in journey:
        last = post_step(client, f"/apply/{slug}", data)
    assert last.headers["Location"] == "/apply/check"
    assert client.get(PAGE).status_code == 404


# Uploading --------------------------------------------------------------------------------


def test_a_photo_is_kept_sealed_upright_and_without_its_location(app, answered):
    photo = samples.jpeg(width=1200, height=800, exif=True)
    sent = upload(answered, ("IMG_0042.JPG", photo))
    assert sent.status_code == 303 and sent.headers["Location"] == PAGE
    page = answered.get(PAGE).text
    assert "IMG_0042.jpg" in page and "JPEG image" in page
    [row] = attachment_rows(app)
    assert row["state"] == "draft" and row["media_type"] == Documents.JPEG
    assert photo not in row["sealed"]
    cleaned = opened(row)
    image = Image.open(io.BytesIO(cleaned))
    assert not image.getexif()
    [listed] = draft_answers(app)["attachments"]
    assert listed["sha256"] == row["sha256"] and listed["size"] == len(cleaned)


def test_several_files_at_once_and_each_listed_with_its_kind_and_size(app, answered):
    sent = upload(
        answered,
        ("Смета.pdf", samples.pdf()),
        ("budget.xlsx", samples.xlsx()),
        ("letter.docx", samples.docx()),
    )
    assert sent.status_code == 303
    page = answered.get(PAGE).text
    for name, kind in [("Смета.pdf", "PDF"), ("budget.xlsx", "Excel workbook")]:
        assert name in page and kind in page
    assert "3 files added" in page
    assert re.search(r"\d+ KB", page)
    assert len(attachment_rows(app)) == 3


def test_no_file_chosen_says_so_on_the_same_page(answered):
    page = upload(answered)
    assert page.status_code == 200
    assert errors(page.text) == ["Choose a file to upload"]
    assert 'href="#documents"' in page.text and 'aria-invalid="true"' in page.text


BAD = [
    ("empty.pdf", lambda: b"", "empty.pdf is empty"),
    ("setup.pdf", lambda: samples.exe(), "setup.pdf is not a PDF, JPEG, PNG, HEIC"),
    ("logo.svg", lambda: samples.svg(), "logo.svg is not a PDF"),
    ("cut.jpg", lambda: samples.truncated_jpeg(), "cut.jpg cannot be opened"),
    ("bomb.png", lambda: samples.png_bomb(), "bomb.png is too large a picture"),
    ("locked.pdf", lambda: samples.pdf(password="secret"), "locked.pdf is protected by a password"),
    ("script.pdf", lambda: samples.pdf(javascript=True), "script.pdf contains scripts"),
    ("macro.xlsx", lambda: samples.xlsx(macros=True), "macro.xlsx contains macros"),
    ("linked.xlsx", lambda: samples.xlsx(external_link=True), "linked.xlsx links to other files"),
    ("two.jpg", lambda: samples.polyglot_jpeg_zip(), "two.jpg holds more than one kind"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD, ids=[row[0] for row in BAD])
def test_a_bad_file_is_refused_by_name_and_the_others_stay(app, answered, name, make, message):
    upload(answered, ("kept.pdf", samples.pdf()))
    page = upload(answered, (name, make()), ("also.png", samples.png()))
    assert page.status_code == 200
    [refused] = errors(page.text)
    assert refused.startswith(message), refused
    listed = [item["name"] for item in draft_answers(app)["attachments"]]
    assert listed == ["kept.pdf", "also.png"]  # the good one of the same upload went in
    assert len(attachment_rows(app)) == 2
    assert 'value="KZ-75"' not in page.text  # and nothing else of the page was touched
    assert draft_answers(app)["funding_source"]


def test_a_file_over_10_mb_is_refused(answered):
    page = upload(answered, ("scan.pdf", samples.big_pdf(Documents.MAX_FILE_BYTES + 1)))
    assert page.status_code == 200, page.status_code
    assert errors(page.text) == ["scan.pdf is larger than 10 MB. Choose a smaller file."]


def test_a_sixth_file_is_refused(app, answered):
    upload(answered, *[(f"p{n}.png", samples.png(width=10 + n)) for n in range(5)])
    assert len(attachment_rows(app)) == 5
    page = answered.get(PAGE).text
    assert 'type="file"' not in page  # no more room: no upload field
    refused = upload(answered, ("p6.png", samples.png(width=40)))
    assert errors(refused.text) == [
        "You can add up to 5 files. Remove a file before you add another."
    ]
    assert len(attachment_rows(app)) == 5


def test_the_same_file_twice_is_kept_once(app, answered):
    document = samples.pdf()
    upload(answered, ("a.pdf", document))
    page = upload(answered, ("copy.pdf", document))
    assert errors(page.text) == [
        "copy.pdf is the same file as a.pdf, which is already in your list."
    ]
    assert len(attachment_rows(app)) == 1


def test_a_body_over_the_limit_shows_the_page_not_a_bare_413(answered):
    huge = b"%PDF-1.4\n" + b"0" * (Documents.MAX_TOTAL_BYTES + 2 * 1024 * 1024)
    sent = upload(answered, ("huge.pdf", huge))
    assert sent.status_code == 303 and sent.headers["Location"] == PAGE + "?too-large=1"
    page = answered.get(sent.headers["Location"])
    assert page.status_code == 200
    assert errors(page.text) == [
        "The files you chose at once are too many or too large: the most is 5 files and 25 MB "
        "in all. Choose fewer or smaller files."
    ]


def test_nginx_s_too_large_comes_back_as_the_page(answered):
    page = answered.get(PAGE + "?too-large=1")
    assert page.status_code == 200 and "too many or too large" in page.text


@pytest.mark.parametrize(
    ("chosen", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\a\\report.pdf", "report.pdf"),
        ("bad\x00name.pdf", "badname.pdf"),
        ("invoice\u202efdp.pdf", "invoicefdp.pdf"),
        ("<img src=x onerror=alert(1)>.pdf", escape("<img src=x onerror=alert(1)>.pdf")),
    ],
)
def test_hostile_names_are_shown_clean_and_never_as_markup(answered, chosen, shown):
    upload(answered, (chosen, samples.pdf()))
    page = answered.get(PAGE).text
    assert shown in page
    assert "<img src=x" not in page


def test_a_name_of_300_characters_is_cut_to_200_keeping_the_extension(app, answered):
    upload(answered, ("ә" * 300 + ".pdf", samples.pdf()))
    [item] = draft_answers(app)["attachments"]
    assert len(item["name"]) <= Documents.NAME and item["name"].endswith(".pdf")


# Removing, and what ends the files --------------------------------------------------------


def test_remove_deletes_the_file_and_says_so(app, answered):
    upload(answered, ("a.pdf", samples.pdf()), ("b.png", samples.png()))
    first = draft_answers(app)["attachments"][0]
    gone = press(answered, f"remove:{first['id']}")
    assert gone.status_code == 303
    page = answered.get(PAGE).text
    assert "a.pdf was removed." in page and "b.png" in page
    assert [row["name"] for row in attachment_rows(app)] == ["b.png"]


def test_removing_another_applications_file_does_nothing(make_app):
    app = make_app(DOCUMENTS=True)
    one, other = app.test_client(), app.test_client()
    for client in (one, other):
        post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    upload(one, ("mine.pdf", samples.pdf()))
    [row] = attachment_rows(app)
    press(other, f"remove:{row['id']}")
    assert len(attachment_rows(app)) == 1


def test_start_again_deletes_the_files(app, answered):
    upload(answered, ("a.pdf", samples.pdf()))
    db = connect(app.config["DATABASE"])
    db.execute("DELETE FROM drafts")  # what start again, a time-out and expiry all do
    assert list(db["attachments"].rows) == []
    db.close()


# Submitting and saving --------------------------------------------------------------------


def test_submit_sends_payload_version_2_listing_the_files(app, answered):
    upload(answered, ("Смета.pdf", samples.pdf()), ("photo.jpg", samples.jpeg()))
    press(answered)
    assert submit(answered).headers["Location"] == "/apply/confirmation"
    db = connect(app.config["DATABASE"])
    [item] = list(db["outbox"].rows)
    application = queued_payload(item)
    db.close()
    assert application["schema"] == "kz.social-projects.application/2"
    names = [entry["name"] for entry in application["attachments"]]
    assert names == ["Смета.pdf", "photo.jpg"]
    assert set(application["attachments"][0]) == {"name", "media_type", "size", "sha256"}
    assert {row["state"] for row in attachment_rows(app)} == {"outgoing"}
    assert draft_answers_gone(app)


def draft_answers_gone(app) -> bool:
    db = connect(app.config["DATABASE"])
    try:
        return db["drafts"].count == 0
    finally:
        db.close()


def test_without_files_the_payload_stays_version_1(app, answered):
    press(answered)
    submit(answered)
    db = connect(app.config["DATABASE"])
    [item] = list(db["outbox"].rows)
    db.close()
    application = queued_payload(item)
    assert application["schema"] == "kz.social-projects.application/1"
    assert "attachments" not in application


def test_saved_and_resumed_here_the_files_come_back(app, answered):
    upload(answered, ("a.pdf", samples.pdf()))
    code = code_on(save(answered, "documents").text)
    assert {row["state"] for row in attachment_rows(app)} == {"saved"}
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resume(other, code)
    page = other.get(PAGE).text
    assert "a.pdf" in page and "not here" not in page
    assert {row["state"] for row in attachment_rows(app)} == {"draft"}


def test_files_from_another_node_are_asked_for_again(app, answered):
    upload(answered, ("a.pdf", samples.pdf()))
    db = connect(app.config["DATABASE"])
    db.execute("DELETE FROM attachments")  # as on a node that never had them
    db.close()
    page = answered.get(PAGE).text
    assert "1 file you added on another device is not here. Please add it again." in page
    assert "a.pdf" not in page
    assert "attachments" not in draft_answers(app) or draft_answers(app)["attachments"] == []


def test_on_a_kiosk_a_social_worker_s_assisted_application_has_the_page(make_app):
    from kiosk.staff import accounts
    from tests.web.test_staff import PASSWORD, _assist, sign_in

    kiosk = make_app(DOCUMENTS=True, KIOSK_MODE=True)
    with kiosk.test_request_context("/"):
        accounts.add("aigerim", "Айгерім Серікова", "social_worker", "Алматы ӘҚКО", PASSWORD)
    client = kiosk.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, "aigerim")
    _assist(client)
    for slug, data in answers_for("ngo"):
        last = post_step(client, f"/apply/{slug}", data)
    assert last.headers["Location"] == PAGE
    assert upload(client, ("letter.pdf", samples.pdf())).status_code == 303
    assert "letter.pdf" in client.get(PAGE).text


def test_a_removed_file_leaves_no_byte_of_it_in_the_database_files(app, answered):
    upload(answered, ("a.pdf", samples.big_pdf(200_000)))
    [row] = attachment_rows(app)
    sealed = row["sealed"]
    forwarder = connect(app.config["DATABASE"])  # open as the forwarder's always is: the WAL
    forwarder.execute("SELECT 1").fetchone()  # then outlives each page's own connection
    try:
        press(answered, f"remove:{row['id']}")
        folder = Path(app.config["DATABASE"]).parent
        for path in folder.glob("kiosk.sqlite3*"):
            data = path.read_bytes()
            assert sealed[1000:1064] not in data, path.name  # secure_delete, the WAL emptied
    finally:
        forwarder.close()


def test_an_expired_draft_takes_its_files_with_it(app, answered):
    upload(answered, ("a.pdf", samples.pdf()))
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE drafts SET expires_at = '2000-01-01T00:00:00+00:00'")
    db.close()
    answered.get("/apply/check")  # the next page finds the draft gone: it is deleted
    assert attachment_rows(app) == []
