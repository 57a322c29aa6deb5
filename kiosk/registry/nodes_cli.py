"""`flask registry nodes`: every node's latest report and its flags, as a table.

The operator's view of reports_store.overview(): one line per registered node (also
those that never reported), and under a node with dead items one line per reason.
`--flagged` leaves out the nodes with nothing to act on. It always exits 0: a flag is
news, not a failure of the command.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from . import create_registry_app, reports_store
from .database import get_db

COLUMNS = (
    "NODE",
    "KIOSK",
    "CENTRE",
    "REGION",
    "VERSION",
    "REPORTED",
    "QUEUED",
    "SENDING",
    "WAITING",
    "DELIVERED",
    "DEAD",
    "OLDEST",
    "LAST DELIVERY",
    "DISK FREE",
    "CLOCK",
    "FLAGS",
)
WIDEST = 24  # characters of a kiosk id or centre shown; the rest is "…"

LEGEND = {
    reports_store.SILENT: "no report for 24 hours, or never",
    reports_store.WAITING: "an application has waited more than a day",
    reports_store.DEAD: "the registry refused applications for good",
    reports_store.CLOCK: "the node's clock is more than 5 minutes off",
    reports_store.DISK: "under 1 GiB free",
}


@click.command("nodes")
@click.option("--flagged", is_flag=True, help="Only the nodes with a flag to act on.")
def nodes_command(flagged: bool) -> None:
    """Every node's latest report (counts, ages, disk, clock) and its flags."""
    app = create_registry_app()
    now = datetime.now(UTC)
    with app.app_context():
        statuses = reports_store.overview(get_db(), now)
    shown = [status for status in statuses if status.flags or not flagged]
    if not shown:
        click.echo("No node has a flag." if flagged and statuses else "No nodes are registered.")
        return
    rows = [_row(status, now) for status in shown]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    click.echo(_line(COLUMNS, widths))
    for status, row in zip(shown, rows, strict=True):
        click.echo(_line(row, widths))
        for reason, count in status.report.dead_reasons if status.report else []:
            click.echo(f"    dead {count}: {reason}")
    raised = [flag for flag in reports_store.FLAGS if any(flag in s.flags for s in shown)]
    if raised:
        click.echo("")
        for flag in raised:
            click.echo(f"{flag}: {LEGEND[flag]}")


def _line(cells, widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _row(status: reports_store.NodeStatus, now: datetime) -> tuple[str, ...]:
    flags = ",".join(status.flags) or "-"
    if status.disabled:
        flags = "disabled"
    report = status.report
    if report is None:
        return (status.node_id, *["-"] * 4, "never", *["-"] * 9, flags)
    return (
        status.node_id,
        _cut(report.kiosk_id),
        _cut(report.centre),
        report.region or "-",
        report.app_version,
        f"{_time(report.received_at)} ({_duration((now - report.received_at).total_seconds())}"
        " ago)",
        *(str(report.outbox[state]) for state in reports_store.OUTBOX_STATES),
        _duration(report.oldest_waiting_seconds),
        _time(report.last_delivery_at),
        _bytes(report.disk_free_bytes),
        _skew(report.clock_skew_seconds),
        flags,
    )


def _cut(text: str | None) -> str:
    if not text:
        return "-"
    return text if len(text) <= WIDEST else text[: WIDEST - 1] + "…"


def _time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _duration(seconds: float | None) -> str:
    """A short age: 45 s, 12 min, 5 h, 3 d."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _skew(seconds: float) -> str:
    """The node's clock against the registry's: +6 min is ahead, -40 s behind."""
    return ("+" if seconds >= 0 else "-") + _duration(abs(seconds))


def _bytes(number: int) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if number >= size:
            return f"{number / size:.1f} {unit}"
    return f"{number} B"
