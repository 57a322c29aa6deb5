"""The node's report of its own health to the registry: every 15 minutes and after deliveries.

The heartbeat file (heartbeat.py) tells this machine's /healthz that the forwarder
lives; nobody at the registry can read it. This report tells the registry, for every
node at once (`flask registry nodes`), what the node's queue looks like: counts by
state, how long the oldest waiting application has waited, the last delivery, the
dead items' reasons, the free disk of the instance folder, the node's clock (UTC) and
its KIOSK_ID, KIOSK_CENTRE and KIOSK_REGION. It is a new module rather than more
heartbeat, because it travels: it goes by the same transport and bearer token as
deliveries (transport.py) to `POST /api/v1/nodes/report` (docs/registry-api.md).

No applicant data is in it: counts, times, settings, and the dead items' reasons,
which are the registry's refusals (they name fields and rules, never values) or the
node's own words, all in English. As a second guard against a registry or a proxy
that quotes a value, every word with a letter outside ASCII (a name in Kazakh or
Russian), every run of six or more digits (an IIN, a phone) and anything like an
e-mail address is masked in them. Submission ids are left out too.

When. The forwarder calls `Reporter.after_turn` after every turn (forwarder.py). A
report goes when the last one was tried 15 minutes ago or more (the time is kept in
the node's database, `node_state` key `report`, so a restart neither loses nor
repeats it; a time ahead of the clock, left by a clock since put back, counts as
due), and at the end of each delivery run: the first idle turn after turns that
delivered an application or gave one up. A report that fails is logged by its
status and not kept: the next one, at the next of those moments, says everything
anew. It waits at most REPORT_TIMEOUT and its failures never leave this module, so
it cannot hold up a delivery.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import shutil
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import metadata
from pathlib import Path

from flask import Flask

from ..db import transaction
from . import DEAD, DELIVERED, QUEUED, SENDING, STATES, WAITING
from .transport import Registry, opener, registry_of

log = logging.getLogger(__name__)

FORMAT = 1
EVERY = timedelta(minutes=15)
CLOCK_SLACK = timedelta(minutes=1)  # a last report further ahead came from a clock put back
REPORT_TIMEOUT = 10.0  # seconds at most, whatever KIOSK_SEND_TIMEOUT: a report is small
STATE_KEY = "report"
MAX_REASONS = 20
# The registry's limits (kiosk/registry/reports_api.py), kept here so that a long setting
# is cut rather than having every report refused.
LENGTHS = {"kiosk_id": 100, "centre": 200, "reason": 300}
SETTLED = {DELIVERED, DEAD}  # outcomes that end an item's run: worth telling the registry

_DIGITS = re.compile(r"\d[\d\s()+-]*\d")  # digits as a phone or an IIN is typed
_EMAIL = re.compile(r"\S+@\S+")
_NOT_ASCII = re.compile(r"\S*[^\x00-\x7f]\S*")  # a word in Kazakh or Russian: quoted data


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def app_version() -> str:
    try:
        return metadata.version("kiosk")
    except metadata.PackageNotFoundError:
        return "unknown"


class Reporter:
    """Decides when the forwarder's node reports, and reports; see the module's doc.

    `clock` gives the time now (tests drive it instead of sleeping).
    """

    def __init__(self, app: Flask, clock: Callable[[], datetime] = _now) -> None:
        self.app = app
        self.clock = clock
        self._settled = False  # this delivery run delivered or gave up an item

    def after_turn(self, db, outcome: str | None) -> None:
        """After one forwarder turn; `outcome` is its item's ("delivered", …), None when idle.

        Never raises: whatever goes wrong is logged by its type alone.
        """
        try:
            self._settled = self._settled or outcome in SETTLED
            end_of_run = outcome is None and self._settled
            now = self.clock()
            if end_of_run or due(db, now):
                self._settled = False
                self.report(db, now)
        except Exception as error:
            log.error("The report to the registry hit %s.", type(error).__name__)

    def report(self, db, now: datetime) -> bool:
        """Build and send one report now; True when the registry recorded it."""
        body = build(self.app, db, now)
        registry = registry_of(self.app)
        timeout = min(self.app.config["SEND_TIMEOUT"], REPORT_TIMEOUT)
        problem = send(registry, body, timeout)
        _remember(db, now, problem)
        if problem:
            log.warning("The report to the registry was not recorded: %s", problem)
        return problem is None


def due(db, now: datetime) -> bool:
    """True when no report was tried in the last 15 minutes (by the node's database)."""
    row = db.execute("SELECT updated_at FROM node_state WHERE key = ?", [STATE_KEY]).fetchone()
    if row is None:
        return True
    try:
        last = datetime.fromisoformat(row[0])
    except (TypeError, ValueError):
        return True
    if last.tzinfo is None:
        return True
    return now - last >= EVERY or last - now > CLOCK_SLACK


def last_tried(db) -> tuple[datetime, str] | None:
    """When the last report was tried and how it went ("recorded" or why not); None: never."""
    row = db.execute(
        "SELECT updated_at, value FROM node_state WHERE key = ?", [STATE_KEY]
    ).fetchone()
    return (datetime.fromisoformat(row[0]), row[1]) if row else None


def _remember(db, now: datetime, problem: str | None) -> None:
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO node_state (key, value, updated_at) VALUES (?, ?, ?)",
            [STATE_KEY, (problem or "recorded")[:300], now.isoformat()],
        )


@contextmanager
def _snapshot(db) -> Iterator[None]:
    """One read transaction: counts, ages and reasons from the same moment of the queue."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")


def build(app: Flask, db, now: datetime) -> dict:
    """The report as JSON-ready data (docs/registry-api.md, "Node reports")."""
    with _snapshot(db):
        counts = dict.fromkeys(STATES, 0)
        for status, number in db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
            if status in counts:
                counts[status] = number
        oldest = db.execute(
            "SELECT MIN(created_at) FROM outbox WHERE status IN (?, ?, ?)",
            [QUEUED, SENDING, WAITING],
        ).fetchone()[0]
        last = db.execute("SELECT MAX(delivered_at) FROM outbox").fetchone()[0]
        reasons = list(
            db.execute(
                "SELECT last_error, COUNT(*) FROM outbox WHERE status = ? GROUP BY last_error",
                [DEAD],
            )
        )
    config = app.config
    return {
        "report": FORMAT,
        "app_version": app_version(),
        "clock": now.astimezone(UTC).isoformat(),
        "kiosk_id": _setting(config["KIOSK_ID"], LENGTHS["kiosk_id"]),
        "centre": _setting(config["KIOSK_CENTRE"], LENGTHS["centre"]),
        "region": config["KIOSK_REGION"] or None,
        "outbox": counts,
        "oldest_waiting_seconds": _age(oldest, now),
        "last_delivery_at": _utc_text(last),
        "dead_reasons": dead_reasons(reasons),
        "disk_free_bytes": shutil.disk_usage(Path(config["INSTANCE"])).free,
    }


def _setting(value: str, longest: int) -> str | None:
    text = _printable(value)[:longest].strip()
    return text or None


def _printable(text: str) -> str:
    """Control and format characters as spaces, runs of spaces as one: what the registry takes."""
    cleaned = "".join(
        " " if unicodedata.category(character)[0] in "CZ" else character for character in text
    )
    return " ".join(cleaned.split())


def _age(stamp: str | None, now: datetime) -> int | None:
    """Seconds since `stamp`; 0 for a stamp ahead of the clock (a clock put back)."""
    if not stamp:
        return None
    return max(0, int((now - datetime.fromisoformat(stamp)).total_seconds()))


def _utc_text(stamp: str | None) -> str | None:
    return datetime.fromisoformat(stamp).astimezone(UTC).isoformat() if stamp else None


def dead_reasons(rows: list) -> list[dict]:
    """(last_error, count) rows as at most 20 {reason, count}, most frequent first.

    Each reason is made printable, has non-ASCII words, long digit runs and e-mail-like
    words masked, and is cut to 300 characters; reasons that become the same are counted
    together.
    """
    merged: dict[str, int] = {}
    for text, number in rows:
        reason = _masked(text or "no reason recorded")
        merged[reason] = merged.get(reason, 0) + number
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    return [{"reason": reason, "count": number} for reason, number in ordered[:MAX_REASONS]]


def _masked(text: str) -> str:
    reason = _EMAIL.sub("[address]", _DIGITS.sub(_digits, _printable(text)))
    reason = _NOT_ASCII.sub("[text]", reason)
    longest = LENGTHS["reason"]
    return reason if len(reason) <= longest else reason[: longest - 1].rstrip() + "…"


def _digits(match: re.Match) -> str:
    """Six digits or more (an IIN, a phone, a number typed by someone) masked; fewer kept."""
    run = match.group()
    return "[digits]" if sum(character.isdigit() for character in run) >= 6 else run


def send(registry: Registry, body: dict, timeout: float) -> str | None:
    """POST the report with the node's token; None when recorded, else why not (no data)."""
    request = urllib.request.Request(
        f"{registry.url}/api/v1/nodes/report",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {registry.token}",
        },
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = _json(response.read(64 * 1024))
            if response.status == 200 and answer.get("status") == "recorded":
                return None
            return f"HTTP {response.status} without the registry's word that it was recorded"
    except urllib.error.HTTPError as error:
        reason = _json(error.read(4096)).get("error")
        detail = reason if isinstance(reason, str) else ""
        return f"HTTP {error.code}: {_printable(detail)[:200]}".rstrip(": ")
    except (OSError, ValueError, http.client.HTTPException) as error:  # refused, reset, timeout
        return f"network: {type(error).__name__}"


def _json(data: bytes) -> dict:
    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return answer if isinstance(answer, dict) else {}
