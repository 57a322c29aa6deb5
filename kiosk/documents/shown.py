"""How a supporting document is shown: its kind and size in the page's language.

Used by the documents page's list and by the check page's row.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l

from ..competition import Documents
from .uploads import listed

SLUG = "documents"  # /apply/documents, the page's address in the journey
TITLE = _l("Supporting documents (optional)")

KINDS = {
    Documents.PDF: _l("PDF"),
    Documents.JPEG: _l("JPEG image"),
    Documents.PNG: _l("PNG image"),
    Documents.DOCX: _l("Word document"),
    Documents.XLSX: _l("Excel workbook"),
}


@dataclass(frozen=True)
class Page:
    """The documents page as a row of the check page links to it (its `slug`)."""

    slug: str = SLUG


def size_text(size: int) -> str:
    """ "2.4 MB" or "120 KB", with the page's language's decimal sign."""
    if size >= 1024 * 1024:
        return gettext("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1)))
    return gettext("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))


def shown(item: dict) -> dict:
    """One file as the list shows it: its id, name, kind and size."""
    return {
        "id": item["id"],
        "name": item["name"],
        "kind": str(KINDS.get(item["media_type"], item["media_type"])),
        "size": size_text(item["size"]),
    }


def summary_row(answers: dict, held: set[str]) -> tuple[Page, str, list[str]]:
    """The check page's row: each file this node holds with its kind and size, or "None added".

    A file listed but not `held` (added before a save, on another node) is not shown: it
    would not be sent.
    """
    files = [shown(item) for item in listed(answers) if item.get("sha256") in held]
    lines = [f"{file['name']} ({file['kind']}, {file['size']})" for file in files]
    return Page(), str(TITLE), lines or [gettext("None added")]
