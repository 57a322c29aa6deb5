"""POST /api/v1/nodes/report: a node's report of its own health (docs/registry-api.md).

The node's bearer token says which node reports (401 unknown, 403 disabled), as for
applications. The body is checked strictly before anything is kept: exactly the
report's keys, each of its type and within bounds no working node comes near, so
that a broken or hostile node cannot fill the registry's overview with nonsense or
with text a terminal or a page would misread. A refusal names keys and rules, never
a value. The registry keeps the report with its own time of receipt
(reports_store.py), which is how a node's clock is judged.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

from flask import Blueprint, g, jsonify

from ..competition import regions
from . import reports_store
from .auth import authenticate
from .database import get_db
from .intake import Refused, json_object, refused_answer

bp = Blueprint("registry_reports", __name__)
bp.register_error_handler(Refused, refused_answer)

FORMAT = 1
MAX_BYTES = 64 * 1024
REPORT_KEYS = {
    "report",
    "app_version",
    "clock",
    "kiosk_id",
    "centre",
    "region",
    "outbox",
    "oldest_waiting_seconds",
    "last_delivery_at",
    "dead_reasons",
    "disk_free_bytes",
}
REASON_KEYS = {"reason", "count"}
MAX_COUNT = 10_000_000  # items in one state, or with one reason
MAX_DISK = 10**15  # bytes: 1 PB
MAX_AGE_SECONDS = 10 * 366 * 24 * 3600  # an application waiting ten years is a broken clock
CLOCK_RANGE = timedelta(days=366)  # a node's clock further off than this is not a clock
PAST_RANGE = timedelta(days=10 * 366)  # the last delivery, at most this long ago
MAX_REASONS = 20
LENGTHS = {"kiosk_id": 100, "centre": 200, "reason": 300}
VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}")
# Control, format (bidi overrides, zero-width), surrogate, private and unassigned
# characters, and line or paragraph separators: nothing a name or a reason needs, and
# what would make a terminal or a page show something else than what was sent.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _now() -> datetime:
    return datetime.now(UTC)


@bp.post("/api/v1/nodes/report")
def node_report():
    """Keep the report as this node's latest; 200 with the time the registry received it."""
    db = get_db()
    g.node = authenticate(db)
    _text, body = json_object(MAX_BYTES, "a report is at most 64 KB")
    received_at = _now()
    found = problems(body, received_at)
    if found:
        raise Refused(422, "; ".join(found[:10]))
    reports_store.record(db, g.node.node_id, body, received_at)
    return jsonify(
        node_id=g.node.node_id,
        status="recorded",
        received_at=received_at.isoformat(timespec="seconds"),
    )


def problems(report: dict, now: datetime) -> list[str]:
    """What is wrong with a report, judged at `now` by the registry's clock; [] for nothing."""
    found = [f"{key}: missing" for key in sorted(REPORT_KEYS - report.keys())]
    if report.keys() - REPORT_KEYS:
        found.append(f"the report: has keys other than {', '.join(sorted(REPORT_KEYS))}")
    checks = {
        "report": lambda value: None if _whole(value, FORMAT, FORMAT) else f"must be {FORMAT}",
        "app_version": _version_problem,
        "clock": lambda value: _time_problem(value, now - CLOCK_RANGE, now + CLOCK_RANGE),
        "kiosk_id": lambda value: _text_problem(value, LENGTHS["kiosk_id"], optional=True),
        "centre": lambda value: _text_problem(value, LENGTHS["centre"], optional=True),
        "region": _region_problem,
        "outbox": _outbox_problem,
        "oldest_waiting_seconds": lambda value: _count_problem(value, MAX_AGE_SECONDS, True),
        "last_delivery_at": lambda value: _time_problem(
            value, now - PAST_RANGE, now + CLOCK_RANGE, optional=True
        ),
        "dead_reasons": _reasons_problem,
        "disk_free_bytes": lambda value: _count_problem(value, MAX_DISK),
    }
    for key, check in checks.items():
        if key in report:
            problem = check(report[key])
            if problem:
                found.append(f"{key}: {problem}")
    return found


def _whole(value: object, lowest: int, highest: int) -> bool:
    return type(value) is int and lowest <= value <= highest  # not True, not 1.0


def _count_problem(value: object, highest: int, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not _whole(value, 0, highest):
        return f"must be a whole number from 0 to {highest}" + (", or null" if optional else "")
    return None


def _text_problem(value: object, longest: int, optional: bool = False) -> str | None:
    """Printable text of 1 to `longest` characters, no spaces around it; or null if optional."""
    if value is None and optional:
        return None
    rule = f"must be text of 1 to {longest} printable characters" + (
        ", or null" if optional else ""
    )
    if not isinstance(value, str) or not value or len(value) > longest or value != value.strip():
        return rule
    if any(unicodedata.category(character) in REFUSED_CATEGORIES for character in value):
        return rule
    return None


def _version_problem(value: object) -> str | None:
    if isinstance(value, str) and VERSION.fullmatch(value):
        return None
    return (
        "must be 1 to 40 of A-Z, a-z, 0-9, '.', '+', '_' and '-', starting with a letter or digit"
    )


def _region_problem(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value in regions()):
        return None
    return "must be a region code such as KZ-75 (kiosk/data/regions.csv), or null"


def _time_problem(
    value: object, earliest: datetime, latest: datetime, optional: bool = False
) -> str | None:
    """An ISO 8601 date-time in UTC (offset zero) between `earliest` and `latest`."""
    if value is None and optional:
        return None
    rule = "must be an ISO 8601 date-time in UTC" + (", or null" if optional else "")
    if not isinstance(value, str) or len(value) > 40 or not value.isascii():
        return rule
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return rule
    if moment.utcoffset() != timedelta(0):
        return rule
    if not earliest <= moment <= latest:
        return "is years away from the registry's clock"
    return None


def _outbox_problem(value: object) -> str | None:
    states = reports_store.OUTBOX_STATES
    rule = f"must have exactly {', '.join(states)}, each a whole number from 0 to {MAX_COUNT}"
    if not isinstance(value, dict) or value.keys() != set(states):
        return rule
    if not all(_whole(value[state], 0, MAX_COUNT) for state in states):
        return rule
    return None


def _reasons_problem(value: object) -> str | None:
    rule = (
        f"must be a list of at most {MAX_REASONS} objects with exactly reason (text of 1 to"
        f" {LENGTHS['reason']} printable characters) and count (1 to {MAX_COUNT})"
    )
    if not isinstance(value, list) or len(value) > MAX_REASONS:
        return rule
    for item in value:
        if not isinstance(item, dict) or item.keys() != REASON_KEYS:
            return rule
        if _text_problem(item["reason"], LENGTHS["reason"]) or not _whole(
            item["count"], 1, MAX_COUNT
        ):
            return rule
    return None
