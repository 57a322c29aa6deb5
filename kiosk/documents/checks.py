"""What a file an applicant sends really is, and the clean copy of it that we keep.

A supporting document comes from anyone on the internet and ends on a commission
member's computer, so it is treated as hostile until read. Its type is decided by its
bytes (filetype, and the HEIF brands filetype does not know), never by its name or the
browser's Content-Type, which the sender controls. Then each type is opened for real by
the library that reads it, because looking like a PDF is not being one:

- photos and scans (JPEG, PNG, HEIC/HEIF) are decoded and encoded afresh without any
  metadata (images.py): the copy kept is new pixels, not the sender's bytes;
- PDFs, DOCX and XLSX are kept byte for byte, once read and found free of what a viewer
  would run or fetch: encryption, JavaScript, embedded files (pdfs.py), macros, ActiveX,
  external links (office.py).

Refusals carry a Problem the pages turn into a message saying what to do. Nothing here
logs: a file's name and contents are the applicant's. This module knows nothing of Flask
and keeps nothing; the caller stores and seals what `inspect` returns.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import filetype

from ..competition import Documents


class Problem(StrEnum):
    """Why a file was refused; each needs its own message to the applicant."""

    EMPTY = "empty"  # no bytes
    TOO_LARGE = "too_large"  # over Documents.MAX_FILE_BYTES, as sent or once cleaned
    TYPE = "type"  # by its bytes, not one of the kinds we take
    DAMAGED = "damaged"  # looks like one of them but does not open (or is a zip bomb)
    TOO_MANY_PIXELS = "pixels"  # a decompression bomb, or absurd dimensions
    MIXED = "mixed"  # a polyglot: more than one kind of content in one file
    PASSWORD = "password"  # an encrypted PDF, even one that opens without a password
    ACTIVE = "active"  # a PDF with JavaScript, launch actions or embedded files
    MACROS = "macros"  # an Office file with macros or ActiveX controls
    EXTERNAL = "external"  # an Office file that links to other files or data


class Refused(Exception):
    """The file is not kept; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class Cleaned:
    """What is kept and sent: for images new bytes, for documents the bytes as sent."""

    name: str  # for display only, with the extension of `media_type`
    media_type: str  # one of Documents.MEDIA_TYPES
    data: bytes
    size: int  # len(data)
    sha256: str  # lower-case hex of SHA-256(data)


EXTENSIONS = {
    Documents.PDF: ".pdf",
    Documents.JPEG: ".jpg",
    Documents.PNG: ".png",
    Documents.DOCX: ".docx",
    Documents.XLSX: ".xlsx",
}
# filetype's names for ZIP-based files that may be a DOCX or XLSX: filetype only looks at
# the first entries, so a package written in another order comes as plain ZIP.
_ZIPS = {"application/zip", Documents.DOCX, Documents.XLSX}
_INVISIBLE = ("Cc", "Cf", "Co", "Cs")
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,10})$")


def inspect(data: bytes, filename: str) -> Cleaned:
    """Decide what `data` is, check it, and return the copy to keep; raise Refused if none.

    No other exception leaves: whatever a hostile file makes a library raise is DAMAGED.
    """
    if not data:
        raise Refused(Problem.EMPTY)
    if len(data) > Documents.MAX_FILE_BYTES:
        raise Refused(Problem.TOO_LARGE)
    data = bytes(data)
    try:
        kept, media_type = _clean(data)
    except Refused:
        raise
    except Exception as error:
        raise Refused(Problem.DAMAGED) from error
    if len(kept) > Documents.MAX_FILE_BYTES:
        raise Refused(Problem.TOO_LARGE)  # a noisy PNG can grow when re-encoded
    return Cleaned(
        name=clean_name(filename, EXTENSIONS[media_type]),
        media_type=media_type,
        data=kept,
        size=len(kept),
        sha256=hashlib.sha256(kept).hexdigest(),
    )


def _clean(data: bytes) -> tuple[bytes, str]:
    """The bytes to keep and their media type, by what the bytes are."""
    # Imported here, not with the module: Pillow, pillow-heif and pypdf are only needed once
    # a file comes, and every process that builds the app (the forwarder's too) starts faster.
    from . import images, office, pdfs

    if images.is_heif(data):
        return images.clean_heif(data), Documents.JPEG
    guess = filetype.guess(data)
    kind = guess.mime if guess else None
    if kind == Documents.JPEG:
        return images.clean_jpeg(data), Documents.JPEG
    if kind in ("image/png", "image/apng"):
        return images.clean_png(data), Documents.PNG
    if kind == Documents.PDF:
        pdfs.check(data)
        return data, Documents.PDF
    if kind in _ZIPS:
        return data, office.check(data)
    raise Refused(Problem.TYPE)


def clean_name(filename: str, extension: str) -> str:
    """A file's name fit to show: its last part, visible characters, and our extension.

    The name is only ever displayed, never used as a path, but it is shown to commission
    members, so it must not pretend to be what it is not: a right-to-left override (U+202E)
    makes "invoice<RLO>fdp.exe" read as "invoiceexe.pdf", and "budget.exe" that is really a
    PDF is shown as "budget.pdf". `extension` may be given with or without its dot.
    """
    extension = "." + extension.lstrip(".")
    name = re.split(r"[/\\]", filename or "")[-1]  # browsers on Windows may send C:\...\x.pdf
    name = "".join(c for c in name if _shown(c))
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip(" .")
    old = _EXTENSION.search(name)  # "scan.PDF", "IMG_0001.HEIC"; not "version 1.2"
    if old and any(c.isalpha() for c in old.group(1)):
        name = name[: old.start()]
    stem = _cut(name.rstrip(" ."), Documents.NAME - len(extension)).rstrip(" .")
    return (stem or "document") + extension


def _shown(character: str) -> bool:
    """Whether a character is kept: whitespace (made one space later), or not NUL or another
    control, a bidi control, a zero-width or other format character, a private-use code or
    a lone surrogate."""
    return character.isspace() or unicodedata.category(character) not in _INVISIBLE


def _cut(stem: str, length: int) -> str:
    """At most `length` characters, cut before a letter, never between it and its accents."""
    if len(stem) <= length:
        return stem
    while length > 0 and _extends(stem[length]):
        length -= 1  # the first character dropped belongs to the one before: drop that too
    return stem[:length]


def _extends(character: str) -> bool:
    """A combining mark, variation selector or skin tone: part of the preceding character."""
    return unicodedata.category(character).startswith("M") or "\U0001f3fb" <= character <= (
        "\U0001f3ff"
    )
