"""Where supporting documents are offered, and how an upload is read without touching disk.

Werkzeug writes a multipart file over 500 KB to a temporary file while it parses the
request. An applicant's file must reach the disk only sealed (kiosk/documents/store.py),
so the node reads every uploaded file into memory instead: the upload route's body
limit (MAX_BODY) bounds how much, and waitress and nginx are set to hold a body of
that size in memory too (kiosk/serving.py, deploy/nginx.conf).
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request, current_app

from ..competition import Documents

# One upload's request at most: every file of an application together, and the form.
MAX_BODY = Documents.MAX_TOTAL_BYTES + 1024 * 1024


# The routes that take a body of that size: the documents page, and its "Save and come
# back later" (whose form may carry files chosen and not uploaded).
LARGE_BODY = {("documents.page", None), ("saving.save", "documents")}


class InMemoryRequest(Request):
    """A request whose uploaded files stay in memory (never a temporary file).

    The documents page's body limit is its own from the start of the request, before
    Flask-WTF reads the form to check its token; everywhere else, the app's 1 MB.
    """

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self._takes_documents():
            return MAX_BODY
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _takes_documents(self) -> bool:
        page = (self.view_args or {}).get("page")
        return (self.endpoint, page) in LARGE_BODY

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def offered(worker_id: int | None) -> bool:
    """Whether this application has the documents page.

    On the web and in assisted mode; not on a public kiosk, where nobody's files are at
    hand, unless a social worker runs the application there. Off everywhere while
    KIOSK_DOCUMENTS is off.
    """
    if not current_app.config.get("DOCUMENTS"):
        return False
    return not current_app.config["KIOSK_MODE"] or worker_id is not None


def listed(answers: dict) -> list[dict]:
    """The files an application's answers list (as the documents page added them)."""
    files = answers.get("attachments")
    return [item for item in files if isinstance(item, dict)] if isinstance(files, list) else []
