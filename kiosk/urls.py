"""Which user-given addresses the site may send people to: only its own paths.

A `next=` or `back=` value is typed by whoever made the link, so it is followed
only when it is plainly a path on this site. Browsers are generous readers:
they treat `\\` as `/`, drop tabs and newlines inside a URL, and take `//host`
as another site, so `/%09/evil.example` or `/\\evil.example` would lead away.
Anything that is not unmistakably local falls back to a page we chose.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

MAX_PATH = 2000  # longer than any page of ours, shorter than a header that breaks a proxy


def safe_local_path(target: str | None, fallback: str | None) -> str | None:
    """`target` when it is a path on this site, else `fallback`."""
    if not isinstance(target, str) or not target or len(target) > MAX_PATH:
        return fallback
    if all(_is_local(form) for form in _decodings(target)):
        return target
    return fallback


def _decodings(target: str) -> list[str]:
    """The value as given and each percent-decoding of it, until nothing changes.

    Checking every layer catches `%2509` (a tab encoded twice) as well as `%09`.
    """
    forms = [target]
    while (decoded := unquote(forms[-1], errors="replace")) != forms[-1]:
        forms.append(decoded)
    return forms


def _is_local(path: str) -> bool:
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False
    if any(_invisible_or_space(character) for character in path):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


def _invisible_or_space(character: str) -> bool:
    """Control, format and private characters, and any kind of space or line break."""
    return character.isspace() or unicodedata.category(character).startswith(("C", "Z"))
