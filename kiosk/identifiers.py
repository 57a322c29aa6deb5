"""Kazakh identification numbers (IIN, BIN) and our own reference numbers.

IIN and BIN checks return *why* a number is wrong, because the applicant has
to be told which rule failed: too short, letters in it, an impossible date, or
a check digit that does not match (usually a typing slip).

Reference numbers are read aloud over the phone and typed from paper, so they
use Crockford's base32 (no I, L, O or U) with a check character that catches
every single wrong character and most swapped neighbours.
"""

from __future__ import annotations

import secrets
from datetime import date
from enum import StrEnum


class Problem(StrEnum):
    """The first rule an IIN or BIN breaks."""

    LENGTH = "length"
    DIGITS = "digits"
    DATE = "date"
    CHECK_DIGIT = "check_digit"


WEIGHTS_FIRST = range(1, 12)
WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first_eleven: str) -> int | None:
    """The 12th digit for these 11 digits, or None when no digit can be valid."""
    digits = [int(c) for c in first_eleven]
    for weights in (WEIGHTS_FIRST, WEIGHTS_SECOND):
        value = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if value != 10:
            return value
    return None


def _shape_problem(number: str) -> Problem | None:
    if not number.isascii() or not number.isdigit():
        return Problem.DIGITS if number else Problem.LENGTH
    if len(number) != 12:
        return Problem.LENGTH
    return None


def _check_problem(number: str) -> Problem | None:
    return None if check_digit(number[:11]) == int(number[11]) else Problem.CHECK_DIGIT


def iin_birth_date(iin: str) -> date | None:
    """The date of birth encoded in an IIN, or None if it is no real date."""
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}.get(iin[6])
    if century is None:
        return None
    try:
        return date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None


def iin_problem(iin: str, today: date | None = None) -> Problem | None:
    """Why this IIN (individual identification number) is invalid, or None."""
    problem = _shape_problem(iin)
    if problem:
        return problem
    born = iin_birth_date(iin)
    if born is None or born > (today or date.today()):
        return Problem.DATE
    return _check_problem(iin)


def bin_problem(bin_: str, today: date | None = None) -> Problem | None:
    """Why this BIN (business identification number) is invalid, or None.

    The first four digits are the year and month of registration: 91..99 mean
    the 1990s (registration in Kazakhstan began in 1991), the rest this century,
    and the month may not be in the future.
    """
    problem = _shape_problem(bin_)
    if problem:
        return problem
    today = today or date.today()
    two_digits, month = int(bin_[0:2]), int(bin_[2:4])
    year = 1900 + two_digits if two_digits >= 91 else 2000 + two_digits
    if not 1 <= month <= 12 or (year, month) > (today.year, today.month):
        return Problem.DATE
    return _check_problem(bin_)


def clean_number(text: str) -> str:
    """Drop the spaces and dashes people type into long numbers."""
    return "".join(c for c in text if c not in " -\u00a0")


# Reference numbers -----------------------------------------------------------

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_READ_AS = {"O": "0", "I": "1", "L": "1"}
REFERENCE_CHARS = 8


def check_character(payload: str) -> str:
    """Luhn mod N check character over the Crockford alphabet."""
    total, factor = 0, 2
    for char in reversed(payload):
        addend = factor * ALPHABET.index(char)
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def new_reference() -> str:
    """A fresh random reference like 7K3M-9QXT-W (8 characters, then a check character)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_CHARS))
    return f"{body[:4]}-{body[4:]}-{check_character(body)}"


def normalise_reference(text: str) -> str | None:
    """The canonical form of a typed reference, or None if it cannot be one of ours.

    Accepts lower case, spaces or no dashes, and O/I/L typed for 0/1.
    """
    chars = [_READ_AS.get(c, c) for c in text.upper() if c not in " -\u00a0"]
    if len(chars) != REFERENCE_CHARS + 1 or any(c not in ALPHABET for c in chars):
        return None
    body, check = "".join(chars[:-1]), chars[-1]
    if check_character(body) != check:
        return None
    return f"{body[:4]}-{body[4:]}-{check}"
