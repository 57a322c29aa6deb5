"""Node reports at the registry: the latest one per node, and what in it needs a person.

Every node sends a small report of its own health (kiosk/outbox/report.py) every 15
minutes and after each delivery run: its outbox counts by state, the oldest waiting
application's age, the last delivery, its dead items' reasons, its free disk and its
clock. Nothing in it is about an applicant. The registry keeps the latest report per
node (table `node_reports`, one row per node, replaced by each report) together with
the time it received it by its own clock, so that a node's clock skew is the node's
clock minus that time.

`overview(db, now)` is the one reading for people (`flask registry nodes`, the
registry's web page): every registered node, also one that never reported, with its
latest report and the flags to act on. Its shape is documented on NodeStatus, Report
and the flag constants below and is kept stable: callers may rely on it.

Flags, as stable string codes, in this order:

- `silent`: no report in the last 24 hours, or none ever;
- `waiting`: the report says an application has waited more than a day (its own age,
  as the node counted it when it reported);
- `dead`: the report counts dead items (the registry refused them for good);
- `clock`: the node's clock was more than 5 minutes off the registry's when it reported;
- `disk`: under 1 GiB free in the node's instance folder. A fixed floor rather than a
  share of the disk, because what runs out is room for the next applications and their
  documents (up to 50 MB each), however large the disk; the node's own /healthz fails
  at a lower floor (KIOSK_HEALTH_MIN_FREE_MB, 200 MB), so this comes first.

A disabled node gets no flags: it can no longer report, and someone has already acted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .database import Database

SILENT, WAITING, DEAD, CLOCK, DISK = "silent", "waiting", "dead", "clock", "disk"
FLAGS = (SILENT, WAITING, DEAD, CLOCK, DISK)  # every flag, in the order they are listed

SILENT_AFTER = timedelta(hours=24)
WAITING_SECONDS = 24 * 3600
CLOCK_SECONDS = 5 * 60
DISK_FLOOR_BYTES = 1024**3

OUTBOX_STATES = ("queued", "sending", "waiting", "delivered", "dead")


@dataclass(frozen=True)
class Report:
    """One node's latest report, as received; every time is an aware UTC datetime."""

    received_at: datetime  # by the registry's clock
    clock: datetime  # the node's clock when it sent the report
    app_version: str
    kiosk_id: str | None  # KIOSK_ID, KIOSK_CENTRE, KIOSK_REGION; None where not set
    centre: str | None
    region: str | None  # an ISO 3166-2:KZ code from kiosk/data/regions.csv
    outbox: dict[str, int]  # every one of OUTBOX_STATES
    oldest_waiting_seconds: int | None  # None: nothing waits
    last_delivery_at: datetime | None  # None: nothing delivered (or kept) yet
    dead_reasons: list[tuple[str, int]]  # (reason, how many), most frequent first
    disk_free_bytes: int

    @property
    def clock_skew_seconds(self) -> float:
        """The node's clock minus the registry's: positive when the node is ahead."""
        return (self.clock - self.received_at).total_seconds()

    @property
    def dead(self) -> int:
        return self.outbox["dead"]


@dataclass(frozen=True)
class NodeStatus:
    """One registered node in the overview: its latest report (None: never) and its flags."""

    node_id: str
    disabled: bool
    registered_at: datetime
    report: Report | None
    flags: list[str]  # codes from FLAGS, in that order; empty: nothing to act on


def _utc(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing as text compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record(db: Database, node_id: str, report: dict, received_at: datetime) -> None:
    """Keep `report` (already checked: reports_api.problems) as this node's latest."""
    db.execute(
        "INSERT INTO node_reports (node_id, received_at, node_clock, report) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (node_id) DO UPDATE SET received_at = excluded.received_at,"
        " node_clock = excluded.node_clock, report = excluded.report",
        [
            node_id,
            _utc(received_at),
            _utc(datetime.fromisoformat(report["clock"])),
            json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        ],
    )


def latest(db: Database, node_id: str) -> Report | None:
    """The node's latest report, or None if it never sent one."""
    rows = db.rows("SELECT received_at, report FROM node_reports WHERE node_id = ?", [node_id])
    return _report(rows[0]["received_at"], rows[0]["report"]) if rows else None


def _report(received_at: str, text: str) -> Report:
    data = json.loads(text)
    last = data["last_delivery_at"]
    return Report(
        received_at=datetime.fromisoformat(received_at),
        clock=datetime.fromisoformat(data["clock"]),
        app_version=data["app_version"],
        kiosk_id=data["kiosk_id"],
        centre=data["centre"],
        region=data["region"],
        outbox={state: data["outbox"][state] for state in OUTBOX_STATES},
        oldest_waiting_seconds=data["oldest_waiting_seconds"],
        last_delivery_at=datetime.fromisoformat(last) if last else None,
        dead_reasons=[(item["reason"], item["count"]) for item in data["dead_reasons"]],
        disk_free_bytes=data["disk_free_bytes"],
    )


def flags_of(report: Report | None, now: datetime, disabled: bool = False) -> list[str]:
    """What needs a person, as of `now`: codes from FLAGS, in order."""
    if disabled:
        return []
    if report is None:
        return [SILENT]
    raised = {
        SILENT: now - report.received_at > SILENT_AFTER,
        WAITING: (report.oldest_waiting_seconds or 0) > WAITING_SECONDS,
        DEAD: report.dead > 0,
        CLOCK: abs(report.clock_skew_seconds) > CLOCK_SECONDS,
        DISK: report.disk_free_bytes < DISK_FLOOR_BYTES,
    }
    return [flag for flag in FLAGS if raised[flag]]


def overview(db: Database, now: datetime) -> list[NodeStatus]:
    """Every registered node, by node id, with its latest report (or None) and its flags."""
    rows = db.rows(
        "SELECT nodes.node_id, nodes.disabled, nodes.created_at, node_reports.received_at,"
        " node_reports.report FROM nodes"
        " LEFT JOIN node_reports ON node_reports.node_id = nodes.node_id"
        " ORDER BY nodes.node_id"
    )
    statuses = []
    for row in rows:
        report = _report(row["received_at"], row["report"]) if row["report"] else None
        disabled = bool(row["disabled"])
        statuses.append(
            NodeStatus(
                node_id=row["node_id"],
                disabled=disabled,
                registered_at=_aware(datetime.fromisoformat(row["created_at"])),
                report=report,
                flags=flags_of(report, now, disabled),
            )
        )
    return statuses


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
