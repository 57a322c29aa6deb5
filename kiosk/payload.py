"""The application payload sent to the central registry: the registry contract.

It is built from the answers of the steps the applicant actually saw (the journey
picks those: a person who first chose "organisation" and then "individual" sends
no organisation data), and checked against the versioned JSON Schema that both the
node and the registry hold. This module knows nothing of the journey's pages.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from . import competition

SCHEMA = "kz.social-projects.application/1"


def build(
    given: dict,
    *,
    submission_id: str,
    reference: str,
    submitted_at: str,
    locale: str,
    assisted: dict | None = None,
) -> dict:
    """The JSON-ready payload for one application, from the answers the applicant was asked."""
    individual = given["applicant_type"] == competition.INDIVIDUAL
    applicant = (
        {"full_name": given["full_name"], "iin": given["iin"]}
        if individual
        else {"organisation_name": given["organisation_name"], "bin": given["bin"]}
    )
    groups = given["target_groups"]
    return {
        "schema": SCHEMA,
        "submission_id": submission_id,
        "reference": reference,
        "submitted_at": submitted_at,
        "locale": locale,
        "applicant": {"type": given["applicant_type"], **applicant},
        "region": given["region"],
        "contact": {
            "name": given["contact_name"],
            "phone": given["phone"],
            "email": given.get("email") or None,
        },
        "project": {
            "title": given["project_title"],
            "target_groups": groups,
            "other_group": given.get("other_group") or None,
            "problem": given["problem"],
            "activities": given["activities"],
            "results": given["results"],
            "settlement": given["settlement"],
            "started": f"{int(given['start_year']):04d}-{int(given['start_month']):02d}",
            "people_helped_last_year": int(given["helped_last_year"]),
            "people_helped_total": int(given["helped_total"]),
            "funding_source": given["funding_source"],
        },
        "assisted": assisted,
    }


def encode(payload: dict) -> str:
    """Canonical JSON text: the same payload always gives the same bytes and hash."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(
        resources.files("kiosk").joinpath("schemas/application-1.json").read_text("utf-8")
    )
    return Draft202012Validator(schema, format_checker=FormatChecker())


def problems(application: object) -> list[str]:
    """What is wrong with a payload by the versioned JSON Schema; empty when it is valid.

    Each problem names the field and the rule it breaks, never the value: the value
    may be a name or an IIN, and these texts reach logs and the node's queue.
    """
    return [_describe(error) for error in _validator().iter_errors(application)]


def _describe(error: ValidationError) -> str:
    where = "/".join(map(str, error.absolute_path)) or "(root)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{where}: unexpected field {', '.join(name[:40] for name in unexpected[:5])}"
    return f"{where}: breaks {error.validator}"
