"""GET /metrics: the node in Prometheus's text format, for the operator's monitoring.

What is counted where (docs/metrics.md lists every metric):

- What lives in the database or the instance folder (the outbox by state, the
  oldest waiting application, a pause, the forwarder's heartbeat) is read at
  scrape time by `NodeState`, so it is right whichever process answers.
- What happens in a process (pages answered, delivery attempts and how long
  they took) is counted in that process, by prometheus_client. A node is one
  process (`python run.py`: waitress threads and the forwarder's thread), so its
  own counts are the whole story. When the forwarder runs as `flask queue work`,
  a second process, both are started with PROMETHEUS_MULTIPROC_DIR (the same
  folder): each writes its counts there and /metrics adds them up, which is
  prometheus_client's own multi-process mode. The registry's gunicorn workers
  do the same (kiosk/registry/metrics.py).

Only this host may read it, or a scraper with the bearer token: a request from
another address, or one that came through a proxy (nginx on this host connects
from 127.0.0.1, so the address alone would let the whole internet in), gets the
same 404 as any unknown page. Labels hold endpoint names, methods, status codes,
outcomes and states, never a URL, an id or anything an applicant typed.

The pieces both apps use (access, exposition, request timing) are here too; the
registry's metrics import them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from . import outbox
from .config import ConfigError
from .db import connect
from .outbox import heartbeat

log = logging.getLogger(__name__)

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
EXTENSION = "kiosk_metrics"
LABEL = "kiosk.metrics.label"  # the environ key the request's label is kept under
TIMEOUT = 2.0  # seconds a scrape waits for the database: a monitor must get an answer

# Headers a proxy adds. A loopback request carrying one came through a proxy on this host,
# from anywhere. (With KIOSK_TRUSTED_PROXY, waitress keeps X-Forwarded-For after reading the
# client's address from it, and drops these headers from any other peer: kiosk/serving.py.)
FORWARDING = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_VIA",
)
# A method label outside these would let any client add label values at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TOKEN = re.compile(r"[\x21-\x7e]{32,1024}")  # printable ASCII: what fits in a header as is
PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

_told: set[str] = set()  # failures already logged, once per process each


# Shared by the node and the registry -----------------------------------------------------


def checked_token(name: str, value: str) -> str:
    """The metrics token from setting `name`: empty (no token access) or 32+ printable ASCII."""
    if value and not TOKEN.fullmatch(value):
        raise ConfigError(
            f"{name} must be 32 to 1024 printable ASCII characters without spaces"
            " (for example from `openssl rand -hex 32`), or empty"
        )
    return value


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _bearer_is(expected: str) -> bool:
    """The Authorization header holds `expected`, compared in constant time.

    Both sides are hashed first, so the time taken says nothing about the token's
    length either; an empty setting or an empty header never matches.
    """
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    mine = hashlib.sha256(expected.encode("ascii")).digest()
    theirs = hashlib.sha256(given.encode("latin-1", "replace")).digest()
    return hmac.compare_digest(mine, theirs)


def allowed(token: str) -> bool:
    """May this request read the metrics: the token, or this host itself, not via a proxy."""
    if _bearer_is(token):
        return True
    through_proxy = any(name in request.environ for name in FORWARDING)
    return _loopback(request.remote_addr) and not through_proxy


def multiprocess_folder() -> str:
    """PROMETHEUS_MULTIPROC_DIR, or empty: counts kept in this process only."""
    return os.environ.get(MULTIPROCESS, "")


def prepare_multiprocess() -> None:
    """Make the multi-process folder if it is named and missing (owner only)."""
    folder = multiprocess_folder()
    if folder:
        Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)


def exposition(own: CollectorRegistry, state: Iterable[Any]) -> Response:
    """The scrape's answer: this process's counts, or every process's, and `state` read now."""
    folder = multiprocess_folder()
    if folder:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
        for collector in state:
            registry.register(collector)
    else:
        registry = own
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = Response(encoder(registry), content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def own_registry(state: Iterable[Any]) -> CollectorRegistry:
    """A registry of one app's metrics (tests build many apps in one process)."""
    disable_created_metrics()  # no `_created` series beside each count: half the text, no loss
    registry = CollectorRegistry()
    for collector in state:
        registry.register(collector)
    if not multiprocess_folder():
        ProcessCollector(registry=registry)  # memory, CPU, descriptors: of this process
    return registry


def method_label() -> str:
    return request.method if request.method in METHODS else "other"


def safely(what: str, action: Callable[[], None]) -> None:
    """Run a metric update; a failure (a full disk under PROMETHEUS_MULTIPROC_DIR) is
    logged once by its type and never reaches the page or the delivery it counts."""
    try:
        action()
    except Exception as error:
        if what not in _told:
            _told.add(what)
            log.warning("Metrics: %s failed: %s", what, type(error).__name__)


def time_requests(
    app: Flask, label: Callable[[], str], observe: Callable[[str, str, str, float], None]
) -> None:
    """Call `observe(label, method, status, seconds)` once per request the app answers.

    The clock runs around the whole WSGI call (every hook, error handler and the
    session's cookie included); the label is taken first thing, before any other
    hook can answer instead of the view (a rate limit, a redirect).
    """

    def take_label() -> None:
        request.environ[LABEL] = (label(), method_label())

    app.before_request_funcs.setdefault(None, []).insert(0, take_label)
    wsgi_app = app.wsgi_app

    def timed(environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["500"]

        def start(line: str, headers: list, exc_info: Any = None) -> Callable:
            status[0] = line.split(" ", 1)[0]
            return start_response(line, headers, exc_info)

        try:
            return wsgi_app(environ, start)
        finally:
            name, method = environ.get(LABEL, ("unmatched", "other"))
            seconds = time.perf_counter() - started
            safely("a request's metrics", lambda: observe(name, method, status[0], seconds))

    app.wsgi_app = timed


def gauge(name: str, text: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    family = GaugeMetricFamily(name, text, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


# The node --------------------------------------------------------------------------------


class NodeMetrics:
    """The counts one node app keeps, in a registry of its own."""

    def __init__(self, state: NodeState) -> None:
        self.state = state
        self.registry = own_registry([state])
        self.responses = Counter(
            "kiosk_http_responses",
            "Responses the node gave, by endpoint (Flask's name for the page), method and status.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "kiosk_http_request_duration_seconds",
            "How long the node took to answer, by endpoint and method.",
            ["endpoint", "method"],
            buckets=PAGE_BUCKETS,
            registry=self.registry,
        )
        self.attempts = Counter(
            "kiosk_delivery_attempts",
            "The forwarder's turns at an outbox item, by outcome: delivered, retry, dead,"
            " pause, more (its files are on their way) or error (the turn raised).",
            ["outcome"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "kiosk_delivery_attempt_duration_seconds",
            "How long one turn took, from claiming the item to recording its outcome"
            " (its files' upload and the envelope's POST included), by outcome.",
            ["outcome"],
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )

    def page(self, endpoint: str, method: str, status: str, seconds: float) -> None:
        self.responses.labels(endpoint, method, status).inc()
        self.seconds.labels(endpoint, method).observe(seconds)

    def attempt(self, outcome: str, seconds: float) -> None:
        self.attempts.labels(outcome).inc()
        self.attempt_seconds.labels(outcome).observe(seconds)


class NodeState:
    """What the node's database and heartbeat file say, read at each scrape."""

    def __init__(self, config: dict) -> None:
        self.database = config["DATABASE"]
        self.instance = Path(config["INSTANCE"])

    def describe(self) -> list:
        return []  # nothing to read when the collector is registered

    def collect(self) -> Iterator[Metric]:
        yield from self._heartbeat()
        try:
            db = connect(self.database, busy_timeout=TIMEOUT)
        except sqlite3.Error:
            yield self._up(False)
            return
        try:
            summary = outbox.summary(db)
        except sqlite3.Error:
            yield self._up(False)
            return
        finally:
            db.close()
        yield self._up(True)
        items = GaugeMetricFamily(
            "kiosk_outbox_items", "Outbox items by state, from the database.", labels=["state"]
        )
        for state in outbox.STATES:
            items.add_metric([state], summary["counts"].get(state, 0))
        yield items
        oldest = summary["oldest_waiting"]
        waited = (
            (datetime.now(UTC) - datetime.fromisoformat(oldest)).total_seconds() if oldest else 0
        )
        yield gauge(
            "kiosk_outbox_oldest_waiting_seconds",
            "How long the oldest application not yet acknowledged has waited (0: none waits).",
            max(waited, 0.0),
        )
        yield gauge(
            "kiosk_outbox_paused",
            "1 while the queue is paused because the registry refused this node's credentials.",
            1 if summary["paused"] else 0,
        )

    @staticmethod
    def _up(ok: bool) -> Metric:
        return gauge("kiosk_database_up", "1 when this scrape could read the database.", int(ok))

    def _heartbeat(self) -> Iterator[Metric]:
        beat = heartbeat.last(self.instance)
        now = datetime.now(UTC)
        yield gauge(
            "kiosk_forwarder_alive",
            "1 while the forwarder's last heartbeat promised the next for later than now"
            " (as /healthz decides); 0 when it is overdue or no forwarder ever ran.",
            1 if beat is not None and beat.due_by >= now else 0,
        )
        if beat is not None:
            yield gauge(
                "kiosk_forwarder_heartbeat_age_seconds",
                "Seconds since the forwarder's last heartbeat (in any process of this node).",
                max((now - beat.at).total_seconds(), 0.0),
            )


def counted(step: Callable) -> Callable:
    """Count each `Forwarder.step` that had an item, by outcome, and time it.

    A decorator, so the forwarder carries one line for it. A step that found
    nothing due (None) is no attempt; one that raised is counted as "error" and
    the exception goes on to the forwarder's loop as before.
    """

    @functools.wraps(step)
    def wrapper(forwarder: Any, db: Any) -> Any:
        started = time.perf_counter()
        try:
            result = step(forwarder, db)
        except Exception:
            _attempt(forwarder.app, "error", time.perf_counter() - started)
            raise
        if result is not None:
            _attempt(forwarder.app, result.outcome.value, time.perf_counter() - started)
        return result

    return wrapper


def _attempt(app: Flask, outcome: str, seconds: float) -> None:
    metrics = app.extensions.get(EXTENSION)
    if metrics is not None:
        safely("a delivery attempt's metrics", lambda: metrics.attempt(outcome, seconds))


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_page() -> Response:
    if not allowed(current_app.config["METRICS_TOKEN"]):
        abort(404)
    metrics: NodeMetrics = current_app.extensions[EXTENSION]
    return exposition(metrics.registry, [metrics.state])


def init_app(app: Flask) -> None:
    """Count this app's pages (and its forwarder's attempts) and serve GET /metrics."""
    app.config["METRICS_TOKEN"] = checked_token(
        "KIOSK_METRICS_TOKEN", app.config.get("METRICS_TOKEN", "")
    )
    prepare_multiprocess()
    metrics = NodeMetrics(NodeState(app.config))
    app.extensions[EXTENSION] = metrics
    time_requests(app, lambda: request.endpoint or "unmatched", metrics.page)
    app.register_blueprint(bp)
