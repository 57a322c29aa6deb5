"""Attacks on the supporting documents page: hand-made multipart bodies, races, lost drafts.

Written as a reviewer's attack on issue 13. A test marked "FINDING" fails today and says
in its comment what the correct behaviour would be; the others guard what holds and is
not tested elsewhere.
"""

from __future__ import annotations

import io
import logging
import re

import pytest

from kiosk.db import connect
from kiosk.documents import checks
from tests import documents_samples as samples
from tests.helpers import answers_for, post_step, token
from tests.web.test_documents import attachment_rows, draft_answers

PAGE = "/apply/documents"
BOUNDARY = "----attackboundary"


@pytest.fixture
def app(make_app):
    return make_app(DOCUMENTS=True, SAVED_SCRYPT={"n": 2**10, "r": 8, "p": 1})


@pytest.fixture
def answered(client):
    for slug, data in answers_for("ngo"):
        post_step(client, f"/apply/{slug}", data)
    return client


def raw_post(client, parts: list[bytes], *, boundary: str = BOUNDARY, close: bool = True, **kw):
    """POST a multipart body written by hand, as a script would."""
    body = b"".join(f"--{boundary}\r\n".encode() + part for part in parts)
    if close:
        body += f"--{boundary}--\r\n".encode()
    content_type = kw.pop("content_type", f"multipart/form-data; boundary={boundary}")
    return client.post(PAGE, data=body, content_type=content_type, **kw)


def field(name: str, value: str) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def file_part(
    disposition: bytes, content: bytes, content_type: bytes = b"application/pdf"
) -> bytes:
    return (
        b'Content-Disposition: form-data; name="documents"; '
        + disposition
        + b"\r\nContent-Type: "
        + content_type
        + b"\r\n\r\n"
        + content
        + b"\r\n"
    )


def csrf(client) -> str:
    return token(client.get(PAGE).text)


def upload(client, *files: tuple[str, bytes], action: str | None = "upload"):
    """Choose these files and press a button (Upload by default), as a browser posts it."""
    data = {"csrf_token": csrf(client), "documents": [(io.BytesIO(c), n) for n, c in files]}
    if action:
        data["action"] = action
    return client.post(PAGE, data=data, content_type="multipart/form-data")


def second_tab(app, client):
    """Another tab of the same browser: the same session cookie."""
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    other.set_cookie("kiosk_session", client.get_cookie("kiosk_session").value)
    return other


def end_the_draft(app) -> None:
    """What another request does meanwhile: submit, save, a kiosk's time-out, a resume elsewhere."""
    db = connect(app.config["DATABASE"])
    try:
        db.execute("DELETE FROM drafts")
    finally:
        db.close()


def errors(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", item).strip()
        for item in re.findall(r'<p><span class="visually-hidden">Error:</span>(.*?)</p>', html)
    ]


# Findings ---------------------------------------------------------------------------------


def test_files_of_a_saved_application_survive_a_resume_that_is_abandoned(app, answered):
    # FINDING. Saved with a file, resumed once and left (the tab closed; the draft runs out
    # after KIOSK_DRAFT_HOURS, or "start again", or a kiosk's time-out): the saved copy is
    # still kept under its code and lists the file, but the file's sealed row went with the
    # draft (store.take_back made it a draft's, the drafts trigger deleted it). The next
    # resume says "1 file you added on another device is not here" on this very device.
    # Correct: a file lives as long as a saved copy that lists it; resuming again brings it.
    from tests.helpers import code_on, resume, save

    upload(answered, ("budget.pdf", samples.pdf()))
    code = code_on(save(answered, "documents").text)
    first = app.test_client()  # another browser, or this one the next day
    first.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resume(first, code)
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE drafts SET expires_at = '2000-01-01T00:00:00+00:00'")
    db.close()
    first.get("/apply/check")  # the draft is found expired and deleted
    later = app.test_client()
    later.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resume(later, code)
    page = later.get(PAGE).text
    assert "not here" not in page
    assert "budget.pdf" in page
    assert len(attachment_rows(app)) == 1


def test_a_draft_that_ends_during_an_upload_is_not_a_500(app, answered, monkeypatch):
    # FINDING. The draft is read before the body is parsed and the files checked (seconds
    # for five photos); if it ends meanwhile (submitted or saved in another tab, a kiosk's
    # time-out, a resume on another device), drafts.save raises sqlite_utils' NotFoundError
    # in documents._upload and the person gets the 500 page. Correct: the same answer as
    # any page of an ended draft (kiosk/journey/views.current_draft): sent on to the start
    # (or the confirmation) with the notice why, nothing kept.
    real = checks.inspect

    def inspect(data, name):
        end_the_draft(app)
        return real(data, name)

    monkeypatch.setattr(checks, "inspect", inspect)
    answer = upload(answered, ("a.pdf", samples.pdf()))
    assert answer.status_code in (302, 303), answer.status_code
    assert attachment_rows(app) == []


def test_a_draft_that_ends_while_the_documents_page_forgets_files_is_not_a_500(
    app, answered, monkeypatch
):
    # FINDING. The same in documents._forget_files_not_here, on a plain GET: a draft listing
    # a file this node lacks is saved again outside any transaction; if it ended since it
    # was read, NotFoundError, 500. Correct: sent on to the start with the notice.
    from kiosk.documents import store

    upload(answered, ("a.pdf", samples.pdf()))
    db = connect(app.config["DATABASE"])
    db.execute("DELETE FROM attachments")  # as on a node that never had it
    db.close()
    real = store.held

    def held(db, submission_id):
        end_the_draft(app)
        return real(db, submission_id)

    monkeypatch.setattr(store, "held", held)
    answer = answered.get(PAGE)
    assert answer.status_code in (302, 303), answer.status_code


def test_two_uploads_at_once_keep_both_files_in_the_list(app, answered, monkeypatch):
    # FINDING. Two tabs (or a double submit) upload two different files at once: both get
    # the 303 of success, but the draft's answers were read before either transaction and
    # the last save wins, so one file drops out of the list (and of the payload) while its
    # sealed row stays behind, never shown. The 5-file and 25 MB rules are checked against
    # the same stale list. Correct: documents._upload reads the draft's answers again inside
    # its BEGIN IMMEDIATE transaction, checks the limits there, and appends to those.
    import threading

    other = second_tab(app, answered)
    forms = [csrf(answered), csrf(other)]
    barrier = threading.Barrier(2, timeout=10)
    real = checks.inspect

    def inspect(data, name):
        cleaned = real(data, name)
        barrier.wait()  # both requests have read the draft and checked their file
        return cleaned

    monkeypatch.setattr(checks, "inspect", inspect)
    statuses = []

    def post(client, form, name, content):
        data = {"csrf_token": form, "action": "upload", "documents": [(io.BytesIO(content), name)]}
        statuses.append(
            client.post(PAGE, data=data, content_type="multipart/form-data").status_code
        )

    threads = [
        threading.Thread(target=post, args=(answered, forms[0], "a.pdf", samples.pdf())),
        threading.Thread(target=post, args=(other, forms[1], "b.png", samples.png())),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303, 303]
    listed = sorted(item["name"] for item in draft_answers(app)["attachments"])
    assert listed == ["a.pdf", "b.png"]


@pytest.mark.parametrize("button", ["continue", "save"])
def test_a_file_chosen_and_not_uploaded_is_not_silently_dropped(app, answered, button):
    # FINDING. Without the script, a person who chooses a file and presses Continue (or
    # "Save and come back later") instead of Upload loses it without a word: the POST
    # carries the file, documents._act (and saving.save) ignore it, and the check page says
    # "None added". Correct (GOV.UK's upload pattern): a file chosen is uploaded by any
    # button of the form, or the page comes back saying it was not added.
    if button == "continue":
        answer = upload(answered, ("a.pdf", samples.pdf()), action=None)
    else:
        data = {"csrf_token": csrf(answered), "documents": [(io.BytesIO(samples.pdf()), "a.pdf")]}
        answer = answered.post(f"{PAGE}/save", data=data, content_type="multipart/form-data")
    kept = len(attachment_rows(app)) == 1
    told = answer.status_code == 200 and "a.pdf" in answer.get_data(as_text=True)
    assert kept or told


def test_more_parts_than_werkzeug_takes_is_not_called_too_many_megabytes(app, answered):
    # FINDING (minor). 1,001 parts (a folder of small photos chosen at once) pass werkzeug's
    # max_form_parts (1000): RequestEntityTooLarge, which security.http_error sends back as
    # ?too-large=1, "more than 25 MB together", though the files are a few KB. Correct: a
    # message that fits both causes, too many files or too many bytes at once (fixed).
    parts = [field("csrf_token", csrf(answered)), field("action", "upload")]
    parts += [file_part(b'filename="p.pdf"', b"%PDF-1.4 x")] * 1001
    answer = raw_post(answered, parts)
    page = answered.get(answer.headers["Location"]) if answer.status_code == 303 else answer
    assert "more than 25 MB" not in " ".join(errors(page.text))
    assert any("too many or too large" in text for text in errors(page.text))


# What holds (not tested elsewhere) --------------------------------------------------------


def test_no_file_name_reaches_the_logs_whatever_happens(app, answered, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    upload(answered, ("Secret-Budget.pdf", samples.pdf()), ("Secret-Tool.exe", samples.exe()))
    upload(answered, ("Secret-Again.pdf", samples.pdf()))  # the same file
    [row] = attachment_rows(app)
    post = {"csrf_token": csrf(answered), "action": f"remove:{row['id']}"}
    answered.post(PAGE, data=post, content_type="multipart/form-data")
    real = checks.inspect

    def inspect(data, name):
        end_the_draft(app)
        return real(data, name)

    monkeypatch.setattr(checks, "inspect", inspect)
    upload(answered, ("Secret-Crash.pdf", samples.pdf()))  # the 500 path logs its frames
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "Secret" not in logged


def test_a_full_disk_during_an_upload_says_so_on_the_page(app, answered, monkeypatch):
    import sqlite3

    from kiosk.documents import store

    def add(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "add", add)
    answer = upload(answered, ("a.pdf", samples.pdf()))
    assert answer.status_code == 200
    assert "Your answers could not be saved just now." in answer.text


@pytest.mark.parametrize("attachment_id", ["x" * 10240, "' OR 1=1 --", "%", "", "*"])
def test_remove_with_a_made_up_id_changes_nothing(app, answered, attachment_id):
    upload(answered, ("a.pdf", samples.pdf()))
    post = {"csrf_token": csrf(answered), "action": f"remove:{attachment_id}"}
    answer = answered.post(PAGE, data=post, content_type="multipart/form-data")
    assert answer.status_code == 303
    assert len(attachment_rows(app)) == 1 and len(draft_answers(app)["attachments"]) == 1


def test_a_post_without_its_form_token_keeps_nothing(app, answered):
    parts = [field("action", "upload"), file_part(b'filename="a.pdf"', samples.pdf())]
    assert raw_post(answered, parts).status_code == 400
    assert attachment_rows(app) == []


@pytest.mark.parametrize(
    ("disposition", "shown"),
    [
        (b'filename="' + b"A" * 200_000 + b'.pdf"', "A" * 196 + ".pdf"),
        (b"filename*=UTF-8''..%2F..%2F%D0%A1%D0%BC%D0%B5%D1%82%D0%B0.pdf", "Смета.pdf"),
    ],
)
def test_a_hand_made_filename_header_is_cut_and_shown_as_a_name(app, answered, disposition, shown):
    parts = [field("csrf_token", csrf(answered)), field("action", "upload")]
    answer = raw_post(answered, parts + [file_part(disposition, samples.pdf())])
    assert answer.status_code == 303
    assert [row["name"] for row in attachment_rows(app)] == [shown]


def test_a_part_without_a_filename_or_lying_about_its_type_is_judged_by_its_bytes(app, answered):
    parts = [
        field("csrf_token", csrf(answered)),
        field("action", "upload"),
        b'Content-Disposition: form-data; name="documents"\r\n\r\n' + samples.pdf() + b"\r\n",
        file_part(b'filename="photo.jpg"', samples.exe(), b"image/jpeg"),
    ]
    answer = raw_post(answered, parts)
    assert answer.status_code == 200
    assert errors(answer.text) == [
        "photo.jpg is not a PDF, JPEG, PNG, HEIC, Word (DOCX) or Excel (XLSX) file."
    ]
    assert attachment_rows(app) == []
