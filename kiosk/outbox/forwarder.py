"""The forwarder: sends queued applications to the registry until each is acknowledged.

Exactly one runs per node (a file lock in the instance folder). It takes the
oldest due item, records a lease before the POST, and records the outcome:

- 201/200 with a receipt signed by the registry (kiosk/receipt.py) for this
  node, this submission and this payload hash: delivered. Any other 2xx (a
  captive portal's login page, a proxy, a forged or unsigned receipt) is not a
  delivery: retried, and the ciphertext is kept.
- 400, 409, 413, 422: the registry will never take it; dead, with the reason.
- 401, 403: this node's credentials are wrong; the whole queue pauses.
- anything else (408, 429, 5xx, 404, redirects, network errors, timeouts):
  retry, forever, with full-jitter backoff (a kiosk may be offline for a week).

An application with supporting documents sends its files first, by tus, for at
most one send timeout per turn (kiosk/outbox/files.py); the envelope goes once the
registry holds them all, and a receipt comes only then (a 202 naming files still
missing sends those again).

After each application it sends a round of saved applications' deposits
(kiosk/deposits.py), unless the queue is paused; a deposit's trouble is caught
there and never holds up an application.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path

from filelock import FileLock, Timeout
from flask import Flask

from .. import deposits, outbox, receipt, saved
from ..db import connect
from ..documents import store as documents
from ..metrics import counted
from . import files, heartbeat, report
from .transport import Registry, full_jitter, opener, registry_of

log = logging.getLogger(__name__)

PERMANENT = {400, 409, 413, 422}
CREDENTIALS = {401, 403}
IDLE_SECONDS = 1.0
PURGE_EVERY_SECONDS = 3600
HEARTBEAT_SLACK = 10.0  # seconds: time for a purge or a slow disk, beyond sends and locks


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    PAUSE = "pause"
    MORE = "more"  # its files are on their way: the same item again next turn, no backoff


@dataclass
class Result:
    outcome: Outcome
    detail: str = ""
    receipt: dict | None = None
    missing: list[str] | None = None  # files the registry says it still lacks (a 202)


def deliver(registry: Registry, item: outbox.Item, timeout: float = 30) -> Result:
    """POST one envelope and say what its answer means."""
    request = urllib.request.Request(
        f"{registry.url}/api/v1/applications",
        data=item.envelope.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {registry.token}",
            "Idempotency-Key": item.submission_id,
        },
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return _from_answer(registry, item, response.status, response.read(1024 * 1024))
    except urllib.error.HTTPError as error:
        return _from_answer(registry, item, error.code, error.read(64 * 1024))
    except (OSError, http.client.HTTPException) as error:  # refused, reset, timeout, DNS
        return Result(Outcome.RETRY, f"network: {type(error).__name__}: {error}")


def _from_answer(registry: Registry, item: outbox.Item, status: int, body: bytes) -> Result:
    if status in (200, 201):
        return _from_receipt(registry, item, status, body)
    if status == 202:
        return _awaiting_files(item, body)
    detail = f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}"
    if status in PERMANENT:
        return Result(Outcome.DEAD, detail)
    if status in CREDENTIALS:
        return Result(Outcome.PAUSE, detail)
    return Result(Outcome.RETRY, detail)


def _awaiting_files(item: outbox.Item, body: bytes) -> Result:
    """The registry has the application but not every file it lists: no receipt yet."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    missing = answer.get("missing") if isinstance(answer, dict) else None
    if (
        not isinstance(missing, list)
        or answer.get("status") != "awaiting_files"
        or not all(isinstance(sha, str) and len(sha) == 64 for sha in missing)
    ):
        return Result(Outcome.RETRY, "HTTP 202 without the registry's list of missing files")
    return Result(Outcome.RETRY, f"HTTP 202: {len(missing)} files still missing", missing=missing)


def _from_receipt(registry: Registry, item: outbox.Item, status: int, body: bytes) -> Result:
    """A delivery only with the registry's signature over this node, id and payload hash."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict) or answer.get("submission_id") != item.submission_id:
        return Result(Outcome.RETRY, f"HTTP {status} without a receipt for this submission")
    try:
        receipt.check(
            answer,
            key=registry.receipt_key,
            node_id=registry.node_id,
            submission_id=item.submission_id,
            payload_sha256=item.payload_sha256,
        )
    except receipt.ReceiptError as error:
        return Result(Outcome.RETRY, f"HTTP {status} with a receipt not to be believed: {error}")
    return Result(Outcome.DELIVERED, receipt=answer)


class Forwarder:
    """Drains the node's outbox; `run()` until `stop` is set.

    Nothing that goes wrong inside the loop ends it: a lock held past the busy
    timeout, a full disk or a damaged page raises, is logged by its type alone
    (a message could quote a row), and the loop backs off and opens the database
    again. Each turn leaves a heartbeat for `/healthz`.
    """

    busy_timeout = 10.0  # seconds a write waits for another writer before it fails

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = app.config
        self.instance = Path(app.config["INSTANCE"])
        self.lock = FileLock(str(self.instance / "forwarder.lock"))
        self.stop = threading.Event()
        self.lease = timedelta(seconds=app.config["LEASE_SECONDS"])
        self._failures = 0  # deliveries in a row that must be retried
        self._since_purge = PURGE_EVERY_SECONDS
        self._resume_after_wait = False
        self._told_idle = False
        self.reporter = report.Reporter(app)  # its own health, to the registry

    @counted  # attempts and their time, by outcome (kiosk/metrics.py)
    def step(self, db) -> Result | None:
        """Send one due item; None when nothing is due (or the queue is paused)."""
        if outbox.paused(db):
            return None
        cap = timedelta(seconds=self.config["BACKOFF_CAP"])
        item = outbox.claim(db, self.lease, backoff_cap=cap)
        if item is None:
            return None
        registry = registry_of(self.app)
        result = self._send_files(db, registry, item)
        if result is None:
            result = deliver(registry, item, timeout=self.config["SEND_TIMEOUT"])
        if result.missing:
            documents.missing_again(db, item.submission_id, result.missing)
        if result.outcome is Outcome.DELIVERED:
            # The files' bytes first: a crash between the two leaves the item to send again,
            # which the registry answers with the same receipt (it holds the files).
            documents.delivered(db, item.submission_id)
            outbox.delivered(db, item.submission_id, result.receipt)
        elif result.outcome is Outcome.MORE:
            outbox.put_back(db, item.submission_id)
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

    def _send_files(self, db, registry: Registry, item: outbox.Item) -> Result | None:
        """The application's files first; None once the registry holds them all."""
        timeout = self.config["SEND_TIMEOUT"]
        progress = files.send(db, registry, item.submission_id, timeout=timeout, budget=timeout)
        outcome = {
            files.Sent.MORE: Outcome.MORE,
            files.Sent.RETRY: Outcome.RETRY,
            files.Sent.DEAD: Outcome.DEAD,
            files.Sent.PAUSE: Outcome.PAUSE,
        }.get(progress.sent)
        return Result(outcome, progress.detail) if outcome else None

    def _backoff(self) -> tuple[float, float]:
        return self.config["BACKOFF_BASE"], self.config["BACKOFF_CAP"]

    def run(self) -> bool:
        """Work until stopped. Returns False at once if another forwarder holds the lock."""
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            if not self._told_idle:
                log.info("Another forwarder is running for this node; this one stays idle.")
                self._told_idle = True
            return False
        try:
            self._loop()
        finally:
            self.lock.release()
        return True

    def _loop(self) -> None:
        db, errors, first = None, 0, True
        self._beat(0)
        try:
            while not self.stop.is_set():
                try:
                    if db is None:
                        db = self._open(resume=first)
                        first = False
                    wait = self._turn(db)
                    errors = 0
                except Exception as error:  # the loop outlives anything; see the class doc
                    errors += 1
                    wait = full_jitter(errors, *self._backoff())
                    log.error(
                        "The forwarder hit %s; it goes on in %.1f s.", type(error).__name__, wait
                    )
                    db = self._close(db)
                self._beat(wait)
                if wait:
                    self.stop.wait(wait)
                    self._since_purge += wait
        finally:
            self._close(db)

    def _open(self, resume: bool):
        """Connect, and take back every lease: holding the lock, no other forwarder is alive."""
        db = connect(self.config["DATABASE"], busy_timeout=self.busy_timeout)
        try:
            released = outbox.release_leases(db, expired_only=False)
            if released:
                log.info("Returned %d interrupted deliveries to the queue.", released)
            if resume:
                outbox.resume(db)  # a restart may bring new credentials: try again
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _close(db) -> None:
        if db is not None:
            try:
                db.close()
            except Exception as error:  # a broken connection may not even close
                log.warning("Closing the forwarder's database failed: %s", type(error).__name__)

    def _turn(self, db) -> float:
        """One go round the loop; how long to rest before the next."""
        if self._resume_after_wait:
            outbox.resume(db)  # someone may have fixed the credentials meanwhile
            self._resume_after_wait = False
        if self._since_purge >= PURGE_EVERY_SECONDS:
            outbox.purge_delivered(db, self.config["KEEP_DAYS"])
            saved.delete_expired(db)
            outbox.release_leases(db)
            self._since_purge = 0
        result = self.step(db)
        self._send_deposits(db)
        self.reporter.after_turn(db, result.outcome.value if result else None)
        wait = self._pause_after(result, db)
        self._failures = self._failures + 1 if result and result.outcome is Outcome.RETRY else 0
        return wait

    def _send_deposits(self, db) -> None:
        """Saved applications' deposits, after the application: never in its way.

        A paused queue (the registry refused this node's credentials) holds them
        too. Whatever goes wrong is logged by its type alone and left for the next
        turn, so a deposit can never stop an application's delivery.
        """
        try:
            if outbox.paused(db):
                return
            deposits.send_due(
                db,
                registry_of(self.app),
                timeout=self.config["SEND_TIMEOUT"],
                backoff=self._backoff(),
            )
        except Exception as error:
            log.error("Sending deposits to the registry hit %s.", type(error).__name__)

    def _pause_after(self, result: Result | None, db) -> float:
        """How long to rest: none after progress, backoff after a failure, a beat when idle."""
        if result is None:
            if outbox.paused(db):
                # While paused, look again after the longest backoff.
                self._resume_after_wait = True
                return self.config["BACKOFF_CAP"]
            return IDLE_SECONDS
        if result.outcome is Outcome.RETRY:
            return full_jitter(self._failures + 1, *self._backoff())
        return 0

    def _beat(self, wait: float) -> None:
        """Tell /healthz the next beat comes after `wait`, plus four sends and a lock wait.

        A turn sends an application's files for one send timeout (and the chunk under
        way when it ends), its envelope, and one round of deposits, which ends within
        its own send timeout (kiosk/deposits.py).
        """
        budget = wait + 4 * self.config["SEND_TIMEOUT"] + self.busy_timeout + HEARTBEAT_SLACK
        try:
            heartbeat.beat(self.instance, budget)
        except OSError as error:  # a full disk: /healthz will say so; the loop goes on
            log.warning("The forwarder could not write its heartbeat: %s", type(error).__name__)


def start_in_background(app: Flask) -> Forwarder:
    """Run a forwarder in a daemon thread beside the web server (what run.py does).

    A supervisor thread starts it again if it ever ends while not told to stop
    (or keeps trying the lock while another process's forwarder holds it).
    """
    forwarder = Forwarder(app)
    threading.Thread(
        target=supervise, args=(forwarder,), name="forwarder-supervisor", daemon=True
    ).start()
    return forwarder


def supervise(forwarder: Forwarder) -> None:
    """Keep one forwarder thread alive until `forwarder.stop` is set."""
    while not forwarder.stop.is_set():
        thread = threading.Thread(target=_run_quietly, args=(forwarder,), name="forwarder")
        thread.daemon = True
        thread.start()
        thread.join()
        if forwarder.stop.is_set():
            return
        delay = forwarder.config["BACKOFF_BASE"]
        log.info("The forwarder thread ended; starting it again in %.1f s.", delay)
        forwarder.stop.wait(delay)


def _run_quietly(forwarder: Forwarder) -> None:
    """`forwarder.run()`, its failure logged by type only (a message could quote a row)."""
    try:
        forwarder.run()
    except Exception as error:
        log.error("The forwarder thread failed: %s", type(error).__name__)
