"""GET /metrics: the registry in Prometheus's text format (docs/metrics.md).

Requests (by route pattern, method and status), their latency, and the
applications received over HTTP (created, already, awaiting_files, refused) are
counted in the process that answered them. Under gunicorn each worker is a
process of its own: started with PROMETHEUS_MULTIPROC_DIR, every worker writes
its counts into that folder and whichever worker answers a scrape adds them all
up (prometheus_client's multi-process mode). What the database holds (the
applications, files kept, nodes registered) is read from it at scrape time, so
it is right whichever worker answers and on either backend.

Access, exposition and timing are the node's (kiosk/metrics.py): this host
itself, not through a proxy, or the bearer token REGISTRY_METRICS_TOKEN; anyone
else gets the registry's JSON 404. No label holds a node's id, a submission id
or a lookup id: routes are their patterns (`/api/v1/files/<file_id>`).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from ..metrics import (
    PAGE_BUCKETS,
    allowed,
    checked_token,
    exposition,
    gauge,
    own_registry,
    prepare_multiprocess,
    time_requests,
)
from . import database

EXTENSION = "registry_metrics"
APPLICATIONS = "/api/v1/applications"
RECEIVED = {201: "created", 200: "already", 202: "awaiting_files"}  # any 4xx: refused


class RegistryMetrics:
    """The counts one registry app keeps, in a registry of its own."""

    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self.registry = own_registry([state])
        self.requests = Counter(
            "registry_http_requests",
            "Requests the registry answered, by route pattern, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "registry_http_request_duration_seconds",
            "How long the registry took to answer, by route pattern and method.",
            ["route", "method"],
            buckets=PAGE_BUCKETS,
            registry=self.registry,
        )
        self.received = Counter(
            "registry_applications_received",
            "Envelopes POSTed to /api/v1/applications, by what became of them: created (a"
            " first receipt), already (the same receipt again), awaiting_files (202) or"
            " refused (any 4xx). 5xx answers are in registry_http_requests_total only.",
            ["status"],
            registry=self.registry,
        )

    def request(self, route: str, method: str, status: str, seconds: float) -> None:
        self.requests.labels(route, method, status).inc()
        self.seconds.labels(route, method).observe(seconds)
        if route == APPLICATIONS and method == "POST":
            code = int(status) if status.isdigit() else 500
            outcome = RECEIVED.get(code, "refused" if 400 <= code < 500 else None)
            if outcome:
                self.received.labels(outcome).inc()


class RegistryState:
    """What the registry's database holds, counted at each scrape (SQLite or PostgreSQL)."""

    def __init__(self, config: dict) -> None:
        self.config = config

    def describe(self) -> list:
        return []  # nothing to read when the collector is registered

    def collect(self) -> Iterator[Metric]:
        try:
            with database.connected(self.config) as db:
                by_via = db.rows("SELECT via, COUNT(*) AS n FROM applications GROUP BY via")
                awaiting = db.execute("SELECT COUNT(*) FROM files_awaited").fetchone()[0]
                files, size = db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files"
                ).fetchone()
                nodes = db.rows("SELECT disabled, COUNT(*) AS n FROM nodes GROUP BY disabled")
        except Exception:  # unreachable, locked, or not yet migrated: the scrape still answers
            yield self._up(False)
            return
        yield self._up(True)
        applications = GaugeMetricFamily(
            "registry_applications",
            "Applications the registry holds, from its database, by how they came"
            " (http, or bundle from a USB stick).",
            labels=["via"],
        )
        for row in by_via:
            applications.add_metric([str(row["via"])], row["n"])
        yield applications
        yield gauge(
            "registry_applications_awaiting_files",
            "Applications stored without every file they list (answered 202, no receipt yet).",
            awaiting,
        )
        yield gauge("registry_files_kept", "Supporting documents the registry keeps.", files)
        yield gauge(
            "registry_files_kept_bytes", "Their size in bytes, as sealed.", float(size or 0)
        )
        registered = GaugeMetricFamily(
            "registry_nodes", "Nodes registered, active or disabled.", labels=["state"]
        )
        counts = {"active": 0, "disabled": 0}
        for row in nodes:
            counts["disabled" if row["disabled"] else "active"] += row["n"]
        for state, number in counts.items():
            registered.add_metric([state], number)
        yield registered

    @staticmethod
    def _up(ok: bool) -> Metric:
        return gauge("registry_database_up", "1 when this scrape could read the database.", int(ok))


bp = Blueprint("registry_metrics", __name__)


@bp.get("/metrics")
def metrics_page() -> Response:
    if not allowed(current_app.config["METRICS_TOKEN"]):
        abort(404)
    metrics: RegistryMetrics = current_app.extensions[EXTENSION]
    return exposition(metrics.registry, [metrics.state])


def _route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def init_app(app: Flask) -> None:
    """Count this registry's requests and serve GET /metrics."""
    app.config["METRICS_TOKEN"] = checked_token(
        "REGISTRY_METRICS_TOKEN", app.config.get("METRICS_TOKEN", "")
    )
    prepare_multiprocess()
    metrics = RegistryMetrics(RegistryState(app.config))
    app.extensions[EXTENSION] = metrics
    time_requests(app, _route, metrics.request)
    app.register_blueprint(bp)
