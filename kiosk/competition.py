"""The competition as data: who may apply, where, for whom, how it is funded, limits, dates.

Everything the rules of "Best Social Projects Implemented in Kazakhstan" fix lives
here, so that forms, templates, the payload and the tests all read one source.
Labels are lazy strings: they are translated when shown, in the reader's language.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

ORGANISATION_TYPES = {
    "ngo": _l("Non-governmental organisation (NGO)"),
    "public_association": _l("Public association"),
    "dpo": _l("Organisation of persons with disabilities"),
    "other": _l("Other institution or agency"),
}
INDIVIDUAL = "individual"
APPLICANT_TYPES = {
    "ngo": ORGANISATION_TYPES["ngo"],
    "public_association": ORGANISATION_TYPES["public_association"],
    "dpo": ORGANISATION_TYPES["dpo"],
    INDIVIDUAL: _l("Individual (a person applying on their own)"),
    "other": ORGANISATION_TYPES["other"],
}

OTHER_GROUP = "other"
TARGET_GROUPS = {
    "disabilities": _l("Persons with disabilities"),
    "children_disabilities": _l("Children with disabilities"),
    "older_people": _l("Older people"),
    "large_families": _l("Large families"),
    "low_income": _l("Low-income families"),
    "difficult_situations": _l("People in difficult life situations"),
    OTHER_GROUP: _l("Other socially vulnerable groups"),
}

FUNDING_SOURCES = {
    "own_funds": _l("Own funds"),
    "sponsors": _l("Sponsors"),
    "state_social_contract": _l("State social contract"),
    "mixed": _l("Mixed: more than one of these"),
}

# How an applicant agreed to an application a social worker filled in with them.
CONSENT_METHODS = {
    "signed_paper": _l("They signed the paper consent form"),
    "read_aloud": _l("I read the declaration aloud and they agreed"),
    "typed_themselves": _l("They read it on the screen and agreed themselves"),
}


class Limit:
    """Maximum lengths and sizes of answers, in characters or people."""

    NAME = 200
    ORGANISATION = 300
    TITLE = 150
    SETTLEMENT = 100
    OTHER_GROUP = 200
    EMAIL = 254
    PHONE = 30
    LONG_TEXT = 2000
    RESULTS_TEXT = 1500
    PEOPLE = 10_000_000
    FIRST_YEAR = 1991


class Documents:
    """Supporting documents: how many, how large, and of which kinds (shown in the hint)."""

    MAX_FILES = 5
    MAX_FILE_BYTES = 10 * 1024 * 1024  # each, after cleaning
    MAX_TOTAL_BYTES = 25 * 1024 * 1024  # all of one application's files together
    MAX_IMAGE_SIDE = 3000  # pixels: a longer side is scaled down
    NAME = 200  # characters kept of a file's name, which is only ever shown
    # What is kept and sent, by media type; HEIC and HEIF photos become JPEG.
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    MEDIA_TYPES = (PDF, JPEG, PNG, DOCX, XLSX)


@dataclass(frozen=True)
class Region:
    """A region of Kazakhstan (ISO 3166-2:KZ) with its name in each language."""

    code: str
    kind: str
    names: dict[str, str]

    @property
    def label(self) -> str:
        """The name in the current language, Kazakh when no request is active."""
        try:
            language = str(get_locale() or "kk")
        except RuntimeError:
            language = "kk"
        return self.names.get(language, self.names["kk"])


@cache
def regions() -> dict[str, Region]:
    """All 20 regions, cities of republican significance first, as in regions.csv."""
    text = resources.files("kiosk").joinpath("data/regions.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        row["iso"]: Region(row["iso"], row["kind"], {k: row[k] for k in ("kk", "ru", "en")})
        for row in rows
    }


class Window(StrEnum):
    """Where we are relative to the competition's application window."""

    NOT_YET_OPEN = "not_yet_open"
    OPEN = "open"
    CLOSED = "closed"


def window_state(now: datetime | None = None) -> Window:
    """Say whether applications are accepted at `now` (default: this moment)."""
    now = now or datetime.now(current_app.config["OPENS"].tzinfo)
    if now < current_app.config["OPENS"]:
        return Window.NOT_YET_OPEN
    if now > current_app.config["CLOSES"]:
        return Window.CLOSED
    return Window.OPEN
