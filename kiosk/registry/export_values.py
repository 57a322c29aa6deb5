"""What an export shows of one application: its fields, named and labelled in one language.

A commission reads an application as its applicant saw it on the check-your-answers
page: a region's name, not KZ-75; "Sponsors", not `sponsors`; "2021 жылғы наурыз",
not 2021-03. The labels are the node's own (kiosk/competition.py, the regions' names,
the phone grouping of kiosk/phones.py, the node's date formats), translated by the same
catalogs, so an export and the pages never say different things.

Each field is a `Value`: the `code` a program keeps (what the payload holds) and the
`label` a person reads. Spreadsheets show labels; JSON Lines keeps both.

An export runs as a command, outside any request: `language()` lends a small app with
Flask-Babel for the time labels are made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_babel import Babel, force_locale, gettext
from flask_babel import lazy_gettext as _l

from .. import competition, phones
from ..config import ROOT
from ..i18n import LANGUAGES, format_moment, format_month

# The columns, in order: a stable English key (JSON Lines' field name) and its header.
COLUMNS: tuple[tuple[str, Any], ...] = (
    ("registry_number", _l("Central registry number")),
    ("reference", _l("Reference number")),
    ("submitted_at", _l("Submitted on")),
    ("received_at", _l("Received by the central registry on")),
    ("language", _l("Language of the application")),
    ("applicant_type", _l("Applicant type")),
    ("organisation_name", _l("Full name of the organisation")),
    ("bin", _l("BIN (business identification number)")),
    ("full_name", _l("Full name")),
    ("iin", _l("IIN (individual identification number)")),
    ("region", _l("Region")),
    ("settlement", _l("City, town or village")),
    ("contact_name", _l("Contact person's full name")),
    ("phone", _l("Phone number")),
    ("email", _l("E-mail address")),
    ("project_title", _l("Project title")),
    ("target_groups", _l("Groups the project helps")),
    ("problem", _l("Problem the project solves")),
    ("activities", _l("What the project does")),
    ("results", _l("What the project has achieved")),
    ("started", _l("Project start")),
    ("people_helped_last_year", _l("People helped last year")),
    ("people_helped_total", _l("People helped in total since the project started")),
    ("funding_source", _l("Funding")),
    ("assisted", _l("Filled in with a social worker")),
    ("centre", _l("Social service centre")),
    ("consent_method", _l("How the applicant agreed")),
    ("worker_id", _l("Social worker's account number on the node")),
    ("documents", _l("Supporting documents")),
    ("submission_id", _l("Submission ID")),
    ("node_id", _l("Node it was sent from")),
)
KEYS = tuple(key for key, _header in COLUMNS)


@dataclass(frozen=True)
class Value:
    """One field: what the payload says (`code`) and what a person reads (`label`)."""

    code: Any
    label: Any
    coded: bool = True  # the label says what the code does not (a name for a code, a date)


def _text(value: Any) -> Value:
    return Value(value, "" if value is None else value, coded=False)


@dataclass(frozen=True)
class Stored:
    """One application as the registry holds it: its row, and the payload read from it."""

    registry_id: int
    node_id: str
    submission_id: str
    received_at: str
    payload: dict

    @property
    def registry_number(self) -> str:
        """The registry's own number for it, as on its receipt (R00000042)."""
        return f"R{self.registry_id:08d}"


_babel_app: Flask | None = None


def _labels_app() -> Flask:
    global _babel_app
    if _babel_app is None:
        app = Flask(__name__)
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
        app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Almaty"  # dates as the node shows them
        Babel(app)
        _babel_app = app
    return _babel_app


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Within the block, headers, labels and dates are in `lang` (kk, ru or en)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no such language: {lang!r}")
    with _labels_app().app_context(), force_locale(lang):
        yield


def headers() -> list[str]:
    return [str(header) for _key, header in COLUMNS]


def _choice(options: dict, code: Any) -> Value:
    """A coded answer with its label; an unknown code is shown as it is, never dropped."""
    if code is None:
        return Value(None, "", coded=False)
    return Value(code, str(options.get(code, code)))


def _moment(text: str) -> Value:
    return Value(text, format_moment(datetime.fromisoformat(text)))


def _started(text: str) -> Value:
    year, month = text.split("-")
    return Value(text, format_month(date(int(year), int(month), 1)))


def _region(code: str, lang: str) -> Value:
    region = competition.regions().get(code)
    return Value(code, region.names[lang] if region else code)


def _groups(project: dict) -> Value:
    codes = list(project["target_groups"])
    labels = [str(competition.TARGET_GROUPS.get(code, code)) for code in codes]
    other = project.get("other_group")
    if other and competition.OTHER_GROUP in codes:  # as the check page writes it
        index = codes.index(competition.OTHER_GROUP)
        labels[index] = f"{labels[index]}: {other}"
    return Value(codes, "; ".join(labels))


def values(stored: Stored, lang: str, documents: Value) -> dict[str, Value]:
    """Every column of one application, inside `language(lang)`.

    Raises KeyError, TypeError or ValueError for a payload that is not an application
    (the caller counts it as unreadable and goes on).
    """
    given = stored.payload
    applicant, contact, project = given["applicant"], given["contact"], given["project"]
    assisted = given.get("assisted")
    yes_no = Value(assisted is not None, gettext("Yes") if assisted else gettext("No"))
    phone = contact["phone"]
    found = {
        "registry_number": _text(stored.registry_number),
        "reference": _text(given["reference"]),
        "submitted_at": _moment(given["submitted_at"]),
        "received_at": _moment(stored.received_at),
        "language": _choice(LANGUAGES, given["locale"]),
        "applicant_type": _choice(competition.APPLICANT_TYPES, applicant["type"]),
        "organisation_name": _text(applicant.get("organisation_name")),
        "bin": _text(applicant.get("bin")),
        "full_name": _text(applicant.get("full_name")),
        "iin": _text(applicant.get("iin")),
        "region": _region(given["region"], lang),
        "settlement": _text(project["settlement"]),
        "contact_name": _text(contact["name"]),
        "phone": Value(phone, phones.grouped(phone)),
        "email": _text(contact.get("email")),
        "project_title": _text(project["title"]),
        "target_groups": _groups(project),
        "problem": _text(project["problem"]),
        "activities": _text(project["activities"]),
        "results": _text(project["results"]),
        "started": _started(project["started"]),
        "people_helped_last_year": _text(int(project["people_helped_last_year"])),
        "people_helped_total": _text(int(project["people_helped_total"])),
        "funding_source": _choice(competition.FUNDING_SOURCES, project["funding_source"]),
        "assisted": yes_no,
        "centre": _text(assisted["centre"] if assisted else None),
        "consent_method": _choice(
            competition.CONSENT_METHODS, assisted["consent_method"] if assisted else None
        ),
        "worker_id": _text(assisted["worker_id"] if assisted else None),
        "documents": documents,
        "submission_id": _text(stored.submission_id),
        "node_id": _text(stored.node_id),
    }
    return {key: found[key] for key in KEYS}


def document_label(path: str | None, name: str) -> str:
    """How one supporting document is listed: where it was written, or that it is not here."""
    if path is None:
        return gettext("%(name)s (not received by the central registry)", name=name)
    return path
