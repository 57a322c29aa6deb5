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
SCHEMA_2 = "kz.social-projects.application/2"  # version 1 with its supporting documents
SCHEMAS = {SCHEMA: "application-1.json", SCHEMA_2: "application-2.json"}


def build(
    given: dict,
    *,
    submission_id: str,
    reference: str,
    submitted_at: str,
    locale: str,
    assisted: dict | None = None,
    attachments: list[dict] | None = None,
) -> dict:
    """The JSON-ready payload for one application, from the answers the applicant was asked."""
    individual = given["applicant_type"] == competition.INDIVIDUAL
    applicant = (
        {"full_name": given["full_name"], "iin": given["iin"]}
        if individual
        else {"organisation_name": given["organisation_name"], "bin": given["bin"]}
    )
    groups = given["target_groups"]
    application = {
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
    if attachments:  # version 2 only with documents: without them, nothing changes
        application["schema"] = SCHEMA_2
        application["attachments"] = [
            {key: item[key] for key in ("name", "media_type", "size", "sha256")}
            for item in attachments
        ]
    return application


def encode(payload: dict) -> str:
    """Canonical JSON text: the same payload always gives the same bytes and hash."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _validator(version: str = SCHEMA) -> Draft202012Validator:
    schema = json.loads(
        resources.files("kiosk").joinpath(f"schemas/{SCHEMAS[version]}").read_text("utf-8")
    )
    return Draft202012Validator(schema, format_checker=FormatChecker())


def problems(application: object) -> list[str]:
    """What is wrong with a payload by its versioned JSON Schema; empty when it is valid.

    Version 1 and 2 are both taken; anything else is checked against version 1 (and
    so refused by its `schema` rule). Each problem names the field and the rule it
    breaks, never the value: the value may be a name or an IIN, and these texts reach
    logs and the node's queue.
    """
    version = application.get("schema") if isinstance(application, dict) else None
    validator = _validator(version if version in SCHEMAS else SCHEMA)
    found = [_describe(error) for error in validator.iter_errors(application)]
    if not found and version == SCHEMA_2:
        found = _attachments_problems(application["attachments"])
    return found


def _attachments_problems(attachments: list[dict]) -> list[str]:
    """What JSON Schema cannot say: the total size, and each file listed once."""
    found = []
    if sum(item["size"] for item in attachments) > competition.Documents.MAX_TOTAL_BYTES:
        found.append("attachments: breaks the total size limit")
    if len({item["sha256"] for item in attachments}) != len(attachments):
        found.append("attachments: breaks uniqueness of sha256")
    return found


def _describe(error: ValidationError) -> str:
    where = "/".join(map(str, error.absolute_path)) or "(root)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{where}: unexpected field {', '.join(name[:40] for name in unexpected[:5])}"
    return f"{where}: breaks {error.validator}"
