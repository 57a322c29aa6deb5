"""Supporting documents as deployed: waitress, and nginx over HTTPS in front of it.

An uploaded file's plaintext must reach no disk before the node seals it. Werkzeug spools
a multipart file over 500 KB to a temporary file, waitress spools a request body over
512 KB, and nginx buffers a large body in a file of its own: each is set to hold the
whole upload in memory. These tests upload a real 3 MB file through each and watch for
any temporary file, then send more than the limit and get the page with its message,
never a bare 413.
"""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from kiosk import create_app
from kiosk.competition import Documents
from tests import documents_samples as samples
from tests.helpers import token
from tests.keys import NODE_KEYS
from tests.nginx import behind_nginx, waitress

PAGE = "/apply/documents"
TOO_MUCH = "The files you chose at once are too many or too large"
FILLER = b"x" * 4096  # big_pdf pads its page with x: a run no sealed byte string holds


@pytest.fixture
def spooled(monkeypatch) -> list[str]:
    """Every temporary file opened while the test runs (waitress's and Werkzeug's kind)."""
    opened: list[str] = []
    original = tempfile.TemporaryFile

    def recording(*args, **kwargs):
        opened.append("TemporaryFile")
        return original(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    return opened


def started(session: requests.Session, base: str, **options) -> None:
    """Begin an application: the first question answered, so the draft exists."""
    page = session.get(f"{base}/apply/applicant-type", **options)
    headers = {"Referer": f"{base}/apply/applicant-type", "Origin": base}
    answer = {"applicant_type": "ngo", "csrf_token": token(page.text)}
    sent = session.post(
        f"{base}/apply/applicant-type",
        data=answer,
        headers=headers,
        allow_redirects=False,
        **options,
    )
    assert sent.status_code == 302, sent.status_code


def upload(session: requests.Session, base: str, name: str, content: bytes, **options):
    page = session.get(base + PAGE, **options)
    assert page.status_code == 200, page.status_code
    return session.post(
        base + PAGE,
        data={"csrf_token": token(page.text), "action": "upload"},
        files={"documents": (name, content, "application/octet-stream")},
        headers={"Referer": base + PAGE, "Origin": base},
        allow_redirects=False,
        **options,
    )


def instance_holds(folder, run: bytes) -> list[str]:
    return [path.name for path in folder.rglob("*") if path.is_file() and run in path.read_bytes()]


def test_through_waitress_an_upload_never_touches_a_temporary_file(make_app, spooled):
    app = make_app(DOCUMENTS=True)
    document = samples.big_pdf(3 * 1024 * 1024)
    with waitress(app) as base:
        session = requests.Session()
        session.headers["Accept-Language"] = "en"
        started(session, base)
        sent = upload(session, base, "report.pdf", document)
        assert sent.status_code == 303, sent.status_code
        assert "report.pdf" in session.get(base + PAGE).text
    assert spooled == []
    assert instance_holds(Path(app.instance_path), FILLER) == []


@contextmanager
def _node(**config):
    """A web node with the documents page, on waitress: (app, its own URL)."""
    folder = tempfile.mkdtemp(prefix="kiosk-documents-")
    app = create_app(
        {
            "INSTANCE": folder,
            "DATABASE": f"{folder}/kiosk.sqlite3",
            "SECRET_KEY": "test-secret",
            "DOCUMENTS": True,
            **NODE_KEYS,
            **config,
        }
    )
    with waitress(app) as url:
        yield app, url


def test_through_nginx_an_upload_stays_in_memory_and_too_much_comes_back_as_the_page(spooled):
    with behind_nginx(_node) as (app, front):
        options = {"verify": str(front.cert)}
        session = requests.Session()
        session.headers["Accept-Language"] = "en"
        started(session, front.url, **options)
        sent = upload(session, front.url, "report.pdf", samples.big_pdf(3 * 1024 * 1024), **options)
        assert sent.status_code == 303, sent.status_code
        assert spooled == []
        log = front.error_log()
        assert "buffered to a temporary file" not in log, log[-2000:]

        huge = b"%PDF-1.4\n" + b"0" * (Documents.MAX_TOTAL_BYTES + 2 * 1024 * 1024)
        answer = upload(session, front.url, "huge.pdf", huge, **options)
        assert answer.status_code == 303, answer.status_code
        assert answer.headers["Location"] == PAGE + "?too-large=1"
        page = session.get(front.url + answer.headers["Location"], **options)
        assert page.status_code == 200 and TOO_MUCH in page.text
        assert re.search(r"<h1[^>]*>[^<]*Supporting documents", page.text)
