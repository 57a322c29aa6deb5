"""PDFs: opened with pypdf, refused when locked or when they would do something when opened.

A PDF is kept byte for byte (re-writing one could change what the commission reads), so
everything rests on reading it first: it must open and have pages, carry no encryption
(the commission could not read it, and we could not look inside), and hold nothing that a
viewer runs or unpacks: JavaScript, launch actions, embedded files or file attachments.

Those can hide anywhere a viewer looks (the catalog's /OpenAction and /AA, the JavaScript
and EmbeddedFiles name trees, pages' /AA, annotations, form fields, bookmarks, chained
/Next actions), so the check walks every object reachable from the catalog rather than a
list of places, with a budget so that a hostile file cannot keep it busy.
"""

from __future__ import annotations

import io
import zipfile

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from .checks import Problem, Refused

# Dictionary keys that only appear in JavaScript or embedded files (/EF is a file
# specification's embedded file stream).
_ACTIVE_KEYS = {"/JavaScript", "/JS", "/EmbeddedFiles", "/EF"}
# Action types (/S) that run code or open another program or an embedded document.
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/GoToE"}
_ACTIVE_SUBTYPES = {"/FileAttachment"}
# Large and inert: the tagged structure tree, XMP metadata, and links back up the tree
# (the walk would reach what they point to another way anyway).
_SKIPPED_KEYS = {"/StructTreeRoot", "/Metadata", "/Parent", "/P"}
# Dictionaries and arrays visited at most: a 10 MB PDF needs far fewer.
MAX_NODES = 500_000


def check(data: bytes) -> None:
    """Refuse a PDF that is also a ZIP, does not open, is encrypted, or holds active content."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise Refused(Problem.MIXED)  # a ZIP's directory is found from the end, a PDF's too
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refused(Problem.PASSWORD)
        if len(reader.pages) < 1:
            raise Refused(Problem.DAMAGED)
        if _holds_active(reader.trailer["/Root"]):
            raise Refused(Problem.ACTIVE)
    except Refused:
        raise
    except Exception as error:  # pypdf's own errors, RecursionError, anything a bad file causes
        raise Refused(Problem.DAMAGED) from error


def _holds_active(root: object) -> bool:
    """Whether any dictionary reachable from the catalog is JavaScript or an embedded file."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams too: their dictionary
            if _is_active(item):
                return True
            stack.extend(value for name, value in item.items() if name not in _SKIPPED_KEYS)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
        else:
            continue
        visited += 1
        if visited > MAX_NODES:
            raise Refused(Problem.DAMAGED)
    return False


def _is_active(dictionary: DictionaryObject) -> bool:
    """JavaScript, an embedded file, or an action or annotation that runs or unpacks one."""
    if any(name in _ACTIVE_KEYS for name in dictionary):
        return True
    return (
        _name(dictionary, "/S") in _ACTIVE_ACTIONS
        or _name(dictionary, "/Subtype") in _ACTIVE_SUBTYPES
    )


def _name(dictionary: DictionaryObject, key: str) -> str | None:
    """The name stored under `key` (through an indirect reference), else None."""
    value = dictionary.get(key)  # dict.get: the raw value, which may be a reference
    if isinstance(value, IndirectObject):
        value = value.get_object()
    return str(value) if isinstance(value, NameObject) else None
