"""Cleaning and checking what people type, with messages that say what to fix.

Every message is a lazy string, translated when shown. Filters run before
validators: they remove characters nobody means to type (NUL, bidi overrides,
zero-width marks), normalise Unicode and trim spaces, so limits count what the
reader sees.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from wtforms import Field, Form
from wtforms.validators import StopValidation, ValidationError

from .i18n import format_count, plural
from .identifiers import Problem, bin_problem, clean_number, iin_problem

_KEEP = {"\n", "\t"}
_SPACES = re.compile(r"\s+")


def _drop_invisible(text: str) -> str:
    """Remove control and format characters (NUL, RTL/LTR marks and overrides, ZWSP)."""
    return "".join(
        c for c in text if c in _KEEP or unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs")
    )


def clean_line(value: str | None) -> str:
    """One line of text: visible characters, single spaces, trimmed, NFC."""
    text = unicodedata.normalize("NFC", _drop_invisible(value or ""))
    return _SPACES.sub(" ", text).strip()


def clean_text(value: str | None) -> str:
    """A paragraph or more: like clean_line, but line breaks stay."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", _drop_invisible(text))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_digits(value: str | None) -> str:
    """ID numbers as typed, with full-width digits made plain and spaces/dashes removed."""
    return clean_number(unicodedata.normalize("NFKC", clean_line(value)))


def clean_count(value: str | None) -> str:
    """Counts and dates: full-width digits made plain, spaces removed ("1 200"), signs kept."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", clean_line(value)))


def unique(values: list | None) -> list:
    """Ticked boxes, each once and in order: a crafted form can repeat a value."""
    return list(dict.fromkeys(values or []))


def normalised(field: Field):
    """The value to store: what a validator normalised (a phone in +7 form), else the data.

    Validators do not change `field.data`, so a page with errors shows exactly what
    the person typed.
    """
    return getattr(field, "normalised", field.data)


class Required:
    """The field must have an answer; stops further checks when empty."""

    field_flags = {"required": True}

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        data = field.data
        if data is None or data == "" or data == [] or data is False:
            field.errors[:] = []
            raise StopValidation(self.message)


class Optional:
    """An empty answer is fine: skip the remaining checks."""

    field_flags = {"optional": True}

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            field.errors[:] = []
            raise StopValidation()


class MaxLength:
    """At most `limit` characters, with the count of how many too many."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form: Form, field: Field) -> None:
        excess = len(field.data or "") - self.limit
        if excess > 0:
            raise ValidationError(
                plural(
                    "Use %(limit)s characters or fewer. You have %(num)s character too many.",
                    "Use %(limit)s characters or fewer. You have %(num)s characters too many.",
                    excess,
                    limit=format_count(self.limit),
                )
            )


class HasLetter:
    """Names and titles must contain at least one letter (in any script)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if not any(unicodedata.category(c).startswith("L") for c in field.data or ""):
            raise ValidationError(self.message)


class Choice:
    """The answer must be one of the offered choices (radios or checkboxes)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        allowed = {str(choice.value) for choice in field.choices}
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(str(value) not in allowed for value in values):
            raise ValidationError(self.message)


IIN_MESSAGES = {
    Problem.DIGITS: _l("IIN must contain only digits 0 to 9"),
    Problem.DATE: _l(
        "The first 6 digits of the IIN are the date of birth "
        "and the 7th shows the century of birth. "
        "Check them against the identity document"
    ),
    Problem.CHECK_DIGIT: _l(
        "This IIN is not valid: the last digit does not match. Check for a typing mistake"
    ),
}
BIN_MESSAGES = {
    Problem.DIGITS: _l("BIN must contain only digits 0 to 9"),
    Problem.DATE: _l(
        "The first 4 digits of the BIN are the year and month of registration. "
        "Check them against the registration document"
    ),
    Problem.CHECK_DIGIT: _l(
        "This BIN is not valid: the last digit does not match. Check for a typing mistake"
    ),
}


def _length_message(kind: str, typed: int) -> str:
    if kind == "iin":
        return ngettext(
            "IIN must be 12 digits. You entered %(num)s digit",
            "IIN must be 12 digits. You entered %(num)s digits",
            typed,
        )
    return ngettext(
        "BIN must be 12 digits. You entered %(num)s digit",
        "BIN must be 12 digits. You entered %(num)s digits",
        typed,
    )


class IIN:
    """A valid individual identification number; says which rule failed."""

    def __call__(self, form: Form, field: Field) -> None:
        problem = iin_problem(field.data)
        if problem == Problem.LENGTH:
            raise ValidationError(_length_message("iin", len(field.data)))
        if problem:
            raise ValidationError(IIN_MESSAGES[problem])


class BIN:
    """A valid business identification number; says which rule failed."""

    def __call__(self, form: Form, field: Field) -> None:
        problem = bin_problem(field.data)
        if problem == Problem.LENGTH:
            raise ValidationError(_length_message("bin", len(field.data)))
        if problem:
            raise ValidationError(BIN_MESSAGES[problem])


class Phone:
    """A real phone number, read as Kazakh when it has no country code; stored as +7…"""

    def __call__(self, form: Form, field: Field) -> None:
        if len(field.data) > 30:
            raise ValidationError(_l("Enter a phone number, like 8 701 234 56 78"))
        try:
            number = phonenumbers.parse(field.data, "KZ")
        except phonenumbers.NumberParseException:
            raise ValidationError(_l("Enter a phone number, like 8 701 234 56 78")) from None
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(
                _l("This phone number is not complete or not valid. Check the digits")
            )
        field.normalised = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Email:
    """An e-mail address in a valid form (no DNS look-up: kiosks may be offline)."""

    def __call__(self, form: Form, field: Field) -> None:
        message = _l("Enter an e-mail address in the correct format, like name@example.kz")
        if len(field.data) > 254:
            raise ValidationError(message)
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(message) from None
        field.normalised = result.normalized


class WholeNumber:
    """A whole number from 0 to `maximum`; the field's data becomes an int."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data.isascii() or not field.data.isdigit():
            raise ValidationError(_l("Enter a whole number using digits, like 120"))
        digits = field.data.lstrip("0") or "0"
        # Compare lengths first: int() refuses strings over 4,300 digits, and has no need to try.
        if len(digits) > len(str(self.maximum)) or int(digits) > self.maximum:
            maximum = format_count(self.maximum)  # markup: 10 000 000 seen, 10000000 heard
            raise ValidationError(
                escape(gettext("Enter a number no bigger than %(maximum)s")) % {"maximum": maximum}
            )
        field.normalised = digits


MONTHS = {str(month) for month in range(1, 13)}


class Month:
    def __call__(self, form: Form, field: Field) -> None:
        digits = field.data.lstrip("0")
        if not (field.data.isascii() and field.data.isdigit() and digits in MONTHS):
            raise ValidationError(_l("Month must be a number from 1 to 12"))
        field.normalised = digits


class Year:
    def __init__(self, first: int) -> None:
        self.first = first

    def __call__(self, form: Form, field: Field) -> None:
        this_year = date.today().year
        ok = field.data.isascii() and field.data.isdigit() and len(field.data) == 4
        if not ok or not self.first <= int(field.data) <= this_year:
            raise ValidationError(
                gettext(
                    "Year must be 4 digits, from %(first)s to %(last)s",
                    first=str(self.first),
                    last=str(this_year),
                )
            )
