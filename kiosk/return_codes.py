"""Return codes: what an applicant keeps to come back to a saved application.

A code looks like ``R7K3-M9QX-TW4P-J5``: the letter R (so nobody mistakes it for a
reference number, which has 9 characters and no prefix), 12 random characters of
Crockford's base32 (60 bits: guessing one takes longer than the competition lasts,
even without the rate limits), and a check character that catches every single wrong
character and most swapped neighbours before anything is looked up.

The code is the only key. The node keeps a lookup id made from it (a hash with a
fixed domain string, the same on every node, since nodes share no secret) and a
ciphertext whose key comes from the code through a memory-hard KDF (kiosk/saved.py).
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from .identifiers import ALPHABET, check_character

PREFIX = "R"
RANDOM_CHARS = 12  # 12 × 5 bits = 60 bits
LENGTH = len(PREFIX) + RANDOM_CHARS + 1  # with the check character: 14
_READ_AS = {"O": "0", "I": "1", "L": "1"}
_IGNORED = " -\u00a0\u2010\u2011\u2012\u2013\u2014_."
LOOKUP_DOMAIN = b"kiosk saved application lookup v1\x00"


class Problem(StrEnum):
    """Why typed text is not a return code."""

    EMPTY = "empty"
    SHAPE = "shape"  # wrong length or characters that are no part of a code
    CHECK = "check"  # the right shape, but one character is wrong


class NotACode(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def new_code() -> str:
    """A fresh random code in its canonical, grouped form: R7K3-M9QX-TW4P-J5."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return group(PREFIX + body + check_character(PREFIX + body))


def group(chars: str) -> str:
    """R7K3M9QXTW4PJ5 -> R7K3-M9QX-TW4P-J5 (groups of four, as it is printed and shown)."""
    return "-".join(chars[start : start + 4] for start in range(0, len(chars), 4))


def read(text: str) -> str:
    """The canonical code for what a person typed; NotACode says what is wrong with it.

    Accepts lower case, spaces and dashes anywhere, O for 0 and I or L for 1, and a code
    typed without its leading R.
    """
    chars = "".join(_READ_AS.get(c, c) for c in (text or "").upper() if c not in _IGNORED)
    if not chars:
        raise NotACode(Problem.EMPTY)
    if len(chars) == LENGTH - 1 and not chars.startswith(PREFIX):
        chars = PREFIX + chars
    if (
        len(chars) != LENGTH
        or not chars.startswith(PREFIX)
        or any(c not in ALPHABET for c in chars)
    ):
        raise NotACode(Problem.SHAPE)
    if check_character(chars[:-1]) != chars[-1]:
        raise NotACode(Problem.CHECK)
    return group(chars)


def lookup_id(code: str) -> str:
    """The public name of a saved application: the same on every node, the code not in it."""
    return hashlib.sha256(LOOKUP_DOMAIN + code.replace("-", "").encode("ascii")).hexdigest()
