"""PostgreSQL goes away under the registry in the middle of a delivery run.

A node's forwarder delivers 40 applications to a registry on a real PostgreSQL; after
a few have arrived the server is stopped sharply (`pg_ctl stop -m immediate`: a crash,
every connection cut, in-flight transactions lost) and started again a moment later.
The registry answers 503 (or nothing) meanwhile, the node keeps its items and retries,
and at the end the registry holds each application exactly once and the node a receipt
for each. The server is this module's own, since stopping it would break other tests.
"""

from __future__ import annotations

import threading

from kiosk import outbox
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, Outcome
from kiosk.registry import database
from tests.forwarding import make_node, make_registry, queue_applications, serve_in_thread
from tests.postgres import postgres_server

COUNT = 40


class Statuses:
    """WSGI middleware: the status of every answer the registry gave."""

    def __init__(self, app) -> None:
        self.app, self.seen = app, []

    def __call__(self, environ, start_response):
        def recording(status, headers, *rest):
            self.seen.append((int(status.split()[0]), dict(headers)))
            return start_response(status, headers, *rest)

        return self.app(environ, recording)


def test_applications_survive_postgres_going_away_mid_delivery(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_POOL_TIMEOUT", "0.2")  # a 503 within the node's send timeout
    with postgres_server() as server:
        url = server.create_database()
        registry = make_registry(tmp_path / "registry", DATABASE_URL=url)
        answered = Statuses(registry.wsgi_app)
        registry.wsgi_app = answered
        address, http_server = serve_in_thread(registry)
        node = make_node(tmp_path / "node", registry, address)
        ids = queue_applications(node, COUNT)
        db = connect(node.config["DATABASE"])
        forwarder = Forwarder(node)
        outcomes: list[Outcome] = []
        crashed = threading.Event()

        def crash_and_come_back() -> None:
            server.stop("immediate")
            crashed.set()
            forwarder.stop.wait(1.5)  # long enough for several deliveries to fail
            server.start()

        crash = threading.Thread(target=crash_and_come_back)
        try:
            for _ in range(5000):
                delivered = len([o for o in outcomes if o is Outcome.DELIVERED])
                if delivered == 5 and not crash.is_alive() and not crashed.is_set():
                    crash.start()
                result = forwarder.step(db)
                if result is None:
                    if outbox.waiting_count(db) == 0:
                        break
                    forwarder.stop.wait(0.02)
                    continue
                outcomes.append(result.outcome)
            crash.join()
            counts = outbox.summary(db)["counts"]
            with database.connected(registry.config, pooled=False) as registry_db:
                held = registry_db.rows("SELECT submission_id FROM applications")
        finally:
            http_server.close()
            db.close()
            database.close_pools()

    assert crashed.is_set()
    assert Outcome.RETRY in outcomes  # deliveries did fail while the server was away
    unavailable = [headers for status, headers in answered.seen if status == 503]
    assert unavailable and all(headers["Retry-After"] == "30" for headers in unavailable)
    assert not [status for status, _ in answered.seen if status == 500]
    assert Outcome.DEAD not in outcomes  # and none was given up
    assert counts["delivered"] == COUNT
    assert sorted(row["submission_id"] for row in held) == sorted(ids)
