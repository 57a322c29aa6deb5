"""GET /healthz: does the node keep its promises right now?

"Your application will be sent automatically" holds only while a forwarder is
alive, the database takes writes, the disk has room, nothing has waited too
long and the database passed its check at start. Each is checked on every call
and reported by name; any failure makes the answer 503 with the reasons, so a
monitor (or a person) sees which promise is at risk. No applicant data appears.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, current_app, jsonify

from . import outbox
from .db import connect, transaction
from .outbox import heartbeat
from .security import csrf

bp = Blueprint("health", __name__)

TIMEOUT = 2.0  # seconds the write check waits for another writer: a monitor must get an answer


def _check(ok: bool, reason: str = "", **facts) -> dict:
    return {"ok": ok, **({"reason": reason} if not ok else {}), **facts}


def forwarder() -> dict:
    """Alive when its last heartbeat promised the next one for later than now."""
    beat = heartbeat.last(Path(current_app.config["INSTANCE"]))
    if beat is None:
        if not current_app.config["FORWARDER"]:
            return _check(True, state="off")
        return _check(False, "no forwarder has run for this node", state="missing")
    facts = {"last_loop": beat.at.isoformat(timespec="seconds")}
    if beat.due_by < datetime.now(UTC):
        return _check(False, "the forwarder has stopped or is stuck", state="stale", **facts)
    return _check(True, state="running", **facts)


def database(db) -> dict:
    """A real write in a transaction: what a submit needs."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with transaction(db):
            db.execute(
                "INSERT OR REPLACE INTO node_state (key, value, updated_at)"
                " VALUES ('healthz', 'written', ?)",
                [stamp],
            )
    except sqlite3.Error as error:
        return _check(False, f"the database takes no writes ({type(error).__name__})")
    return _check(True)


def disk() -> dict:
    folder = Path(current_app.config["DATABASE"]).parent
    free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
    minimum = current_app.config["HEALTH_MIN_FREE_MB"]
    facts = {"free_mb": free_mb, "min_free_mb": minimum}
    if free_mb < minimum:
        return _check(False, f"less than {minimum} MB free on the database's disk", **facts)
    return _check(True, **facts)


def queue(db) -> dict:
    """The oldest application not yet acknowledged, against KIOSK_HEALTH_MAX_WAIT_HOURS."""
    oldest = outbox.oldest_waiting(db)
    hours = (datetime.now(UTC) - oldest).total_seconds() / 3600 if oldest else 0.0
    limit = current_app.config["HEALTH_MAX_WAIT_HOURS"]
    facts = {
        "waiting": outbox.waiting_count(db),
        "dead": outbox.count(db, outbox.DEAD),
        "oldest_wait_hours": round(hours, 2),
        "max_wait_hours": limit,
    }
    if hours > limit:
        return _check(False, f"an application has waited more than {limit} hours", **facts)
    return _check(True, **facts)


def integrity() -> dict:
    """The quick check made once at start (kiosk/db.py); a failed one stops the start."""
    result = current_app.extensions.get("database_check", "not run")
    if result != "ok":
        return _check(False, "the database's integrity check at start did not pass")
    return _check(True)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    checks = {"forwarder": forwarder(), "disk": disk(), "integrity": integrity()}
    queued = None
    try:
        db = connect(current_app.config["DATABASE"], busy_timeout=TIMEOUT)
    except sqlite3.Error as error:
        checks["database"] = _check(
            False, f"the database cannot be opened ({type(error).__name__})"
        )
    else:
        try:
            checks["database"] = database(db)
            checks["queue"] = queue(db)
            queued = checks["queue"]["waiting"]
        except sqlite3.Error as error:
            checks["queue"] = _check(False, f"the queue cannot be read ({type(error).__name__})")
        finally:
            db.close()
    reasons = [check["reason"] for check in checks.values() if not check["ok"]]
    body = {"status": "failing" if reasons else "ok", "reasons": reasons, "queued": queued}
    return jsonify(**body, checks=checks), 503 if reasons else 200
