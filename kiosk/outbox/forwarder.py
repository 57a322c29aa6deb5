"""The forwarder: sends queued applications to the registry until each is acknowledged.

Exactly one runs per node (a file lock in the instance folder). It takes the
oldest due item, records a lease before the POST, and records the outcome:

- 201/200 with a JSON receipt naming this submission: delivered. A 2xx without
  that receipt (a captive portal's login page, a proxy) is not a delivery.
- 400, 409, 413, 422: the registry will never take it; dead, with the reason.
- 401, 403: this node's credentials are wrong; the whole queue pauses.
- anything else (408, 429, 5xx, 404, redirects, network errors, timeouts):
  retry, forever, with full-jitter backoff (a kiosk may be offline for a week).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path

from filelock import FileLock, Timeout
from flask import Flask

from .. import outbox
from ..db import connect

log = logging.getLogger(__name__)

PERMANENT = {400, 409, 413, 422}
CREDENTIALS = {401, 403}
IDLE_SECONDS = 1.0
PURGE_EVERY_SECONDS = 3600


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    PAUSE = "pause"


@dataclass
class Result:
    outcome: Outcome
    detail: str = ""
    receipt: dict | None = None


def full_jitter(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before try number `attempt` + 1: random(0, min(cap, base × 2^(n-1)))."""
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is never the registry's answer (captive portals redirect): retry later."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def deliver(url: str, token: str, item: outbox.Item, timeout: float = 30) -> Result:
    """POST one envelope and say what its answer means."""
    request = urllib.request.Request(
        f"{url}/api/v1/applications",
        data=item.envelope.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": item.submission_id,
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return _from_answer(item, response.status, response.read(1024 * 1024))
    except urllib.error.HTTPError as error:
        return _from_answer(item, error.code, error.read(64 * 1024))
    except (OSError, http.client.HTTPException) as error:  # refused, reset, timeout, DNS
        return Result(Outcome.RETRY, f"network: {type(error).__name__}: {error}")


def _from_answer(item: outbox.Item, status: int, body: bytes) -> Result:
    if status in (200, 201):
        try:
            receipt = json.loads(body)
        except ValueError:
            receipt = None
        if isinstance(receipt, dict) and receipt.get("submission_id") == item.submission_id:
            return Result(Outcome.DELIVERED, receipt=receipt)
        return Result(Outcome.RETRY, f"HTTP {status} without a receipt for this submission")
    detail = f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}"
    if status in PERMANENT:
        return Result(Outcome.DEAD, detail)
    if status in CREDENTIALS:
        return Result(Outcome.PAUSE, detail)
    return Result(Outcome.RETRY, detail)


class Forwarder:
    """Drains the node's outbox; `run()` until `stop` is set."""

    def __init__(self, app: Flask) -> None:
        self.config = app.config
        self.lock = FileLock(str(Path(app.config["INSTANCE"]) / "forwarder.lock"))
        self.stop = threading.Event()
        self.lease = timedelta(seconds=app.config["LEASE_SECONDS"])

    def step(self, db) -> Result | None:
        """Send one due item; None when nothing is due (or the queue is paused)."""
        if outbox.paused(db):
            return None
        item = outbox.claim(db, self.lease)
        if item is None:
            return None
        result = deliver(
            self.config["REGISTRY_URL"],
            self.config["REGISTRY_TOKEN"],
            item,
            timeout=self.config["SEND_TIMEOUT"],
        )
        if result.outcome is Outcome.DELIVERED:
            outbox.delivered(db, item.submission_id, result.receipt)
        elif result.outcome is Outcome.DEAD:
            outbox.give_up(db, item.submission_id, result.detail)
            log.warning("Outbox item %s is dead: %s", item.submission_id, result.detail)
        elif result.outcome is Outcome.PAUSE:
            outbox.put_back(db, item.submission_id)
            outbox.pause(db, result.detail)
            log.error("Outbox paused, the registry refused this node: %s", result.detail)
        else:
            delay = full_jitter(item.attempts, *self._backoff())
            outbox.retry_later(db, item.submission_id, delay, result.detail)
        return result

    def _backoff(self) -> tuple[float, float]:
        return self.config["BACKOFF_BASE"], self.config["BACKOFF_CAP"]

    def run(self) -> bool:
        """Work until stopped. Returns False at once if another forwarder holds the lock."""
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            log.info("Another forwarder is running for this node; this one stays idle.")
            return False
        try:
            self._loop()
        finally:
            self.lock.release()
        return True

    def _loop(self) -> None:
        db = connect(self.config["DATABASE"])
        try:
            released = outbox.release_leases(db, expired_only=False)
            if released:
                log.info("Returned %d interrupted deliveries to the queue.", released)
            outbox.resume(db)  # a restart may bring new credentials: try again
            failures, since_purge = 0, PURGE_EVERY_SECONDS
            while not self.stop.is_set():
                if since_purge >= PURGE_EVERY_SECONDS:
                    outbox.purge_delivered(db, self.config["KEEP_DAYS"])
                    outbox.release_leases(db)
                    since_purge = 0
                result = self.step(db)
                wait = self._pause_after(result, db, failures)
                failures = failures + 1 if result and result.outcome is Outcome.RETRY else 0
                if wait:
                    self.stop.wait(wait)
                    since_purge += wait
        finally:
            db.close()

    def _pause_after(self, result: Result | None, db, failures: int) -> float:
        """How long to rest: none after progress, backoff after a failure, a beat when idle."""
        if result is None:
            if outbox.paused(db):
                return self._paused_wait(db)
            return IDLE_SECONDS
        if result.outcome is Outcome.RETRY:
            return full_jitter(failures + 1, *self._backoff())
        return 0

    def _paused_wait(self, db) -> float:
        """While paused, look again after the longest backoff: someone may fix the credentials."""
        cap = self.config["BACKOFF_CAP"]
        self.stop.wait(cap)
        outbox.resume(db)
        return 0


def start_in_background(app: Flask) -> Forwarder:
    """Run a forwarder in a daemon thread beside the web server (what run.py does)."""
    forwarder = Forwarder(app)
    thread = threading.Thread(target=forwarder.run, name="forwarder", daemon=True)
    thread.start()
    return forwarder
