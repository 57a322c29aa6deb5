"""`flask queue …`: run the forwarder, see the queue, revive dead items, export a bundle."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .. import audit, bundle, outbox
from ..db import get_db
from ..documents import store as documents
from ..node import identity
from .forwarder import Forwarder

queue_cli = AppGroup("queue", help="The outbox of applications waiting for the registry.")


@queue_cli.command("work")
def work_command() -> None:
    """Forward queued applications to the registry until stopped (Ctrl+C, SIGTERM)."""
    forwarder = Forwarder(current_app._get_current_object())
    signal.signal(signal.SIGTERM, lambda *_: forwarder.stop.set())
    click.echo(f"Forwarding to {current_app.config['REGISTRY_URL']}")
    try:
        if not forwarder.run():
            raise click.ClickException("another forwarder is already running for this node")
    except KeyboardInterrupt:
        forwarder.stop.set()


def _age(stamp: str | None) -> str:
    if not stamp:
        return "-"
    seconds = int((datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


@queue_cli.command("status")
def status_command() -> None:
    """Counts by state, oldest waiting age, last delivery, and dead items with reasons."""
    report = outbox.summary(get_db())
    for state, number in report["counts"].items():
        click.echo(f"{state:<10} {number}")
    click.echo(f"oldest waiting: {_age(report['oldest_waiting'])}")
    click.echo(f"last delivery:  {report['last_delivery'] or 'never'}")
    if report["paused"]:
        reason, since = report["paused"]
        click.echo(f"PAUSED since {since}: {reason}")
        click.echo(
            "Check KIOSK_REGISTRY_TOKEN, then restart the forwarder or run `flask queue retry`."
        )
    for item in report["dead"]:
        click.echo(f"dead {item['submission_id']} ({item['created_at']}): {item['reason']}")


@queue_cli.command("retry")
def retry_command() -> None:
    """Put dead items back in the queue, make waiting ones due now, and lift a pause."""
    db = get_db()
    revived = outbox.revive_dead(db)
    outbox.resume(db)
    audit.record("queue_retry", detail=f"revived {revived} from the command line")
    click.echo(f"Revived {revived} dead or waiting items, due now; the queue is not paused.")


@queue_cli.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_command(folder: Path) -> None:
    """Write every undelivered envelope to one signed bundle file in FOLDER (e.g. a USB stick)."""
    db = get_db()
    rows = db.execute(
        "SELECT envelope FROM outbox WHERE status IN (?, ?, ?, ?) ORDER BY created_at",
        [outbox.QUEUED, outbox.SENDING, outbox.WAITING, outbox.DEAD],
    ).fetchall()
    node = identity()
    ids = [json.loads(row[0])["submission_id"] for row in rows]
    carried = [
        {
            "submission_id": submission_id,
            "sha256": file.sha256,
            "encryption": file.encryption,
            "sealed": file.sealed,
        }
        for submission_id in ids
        for file in documents.outgoing(db, submission_id)
    ]
    made = bundle.make(node.node_id, node.signing_key, [row[0] for row in rows], carried)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"bundle-{node.node_id}-{stamp}.json"
    path.write_text(json.dumps(made), encoding="utf-8")
    audit.record(
        "queue_export", detail=f"{len(rows)} envelopes, {len(carried)} files to {path.name}"
    )
    click.echo(f"Wrote {len(rows)} envelopes and {len(carried)} files to {path}")
