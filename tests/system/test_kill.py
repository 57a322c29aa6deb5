"""Kill the forwarder with SIGKILL at random moments during a 300-item drain.

The registry must end with exactly those 300 applications: none lost, none twice.
Kills land 0.3 to 1.5 s after a worker starts, start-up included, so many come before a
worker sends anything and the drain takes many of them; at least three must land mid-drain.
A kill after which nothing more was delivered widens the next one's window (up to 20 s): on
a loaded machine a worker may take longer than 1.5 s just to start, and kills that always
land in its start-up would test nothing and never end.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time

from kiosk.db import connect, get_db
from tests.forwarding import make_node, make_registry, queue_applications, registry_rows
from tests.system.server import FORWARDER, forwarder_env, free_port, start_process, wait_for

ITEMS = 300
MAX_SECONDS = 300  # a loaded 2-core machine starts each worker slowly
SOONEST, LATEST, WIDEST = 0.3, 1.5, 20.0  # seconds from a worker's start to its kill


def test_sigkill_during_a_drain_loses_nothing_and_duplicates_nothing(tmp_path):
    registry_port = free_port()
    registry_app = make_registry(tmp_path / "registry")
    registry_env = {
        **os.environ,
        "REGISTRY_INSTANCE": str(tmp_path / "registry"),
        "REGISTRY_PORT": str(registry_port),
    }
    registry = start_process([sys.executable, "run.py", "registry"], registry_env)
    registry_url = f"http://127.0.0.1:{registry_port}"
    try:
        wait_for(registry_url + "/healthz")
        node = make_node(tmp_path / "node", registry_app, registry_url)
        ids = set(queue_applications(node, ITEMS))
        node_env = forwarder_env(tmp_path / "node", node.config, registry_url)
        command = FORWARDER
        db = connect(tmp_path / "node" / "kiosk.sqlite3")
        kills, deadline, progress = 0, time.monotonic() + MAX_SECONDS, []
        rng = random.Random(20261126)
        latest = LATEST
        while time.monotonic() < deadline:
            worker = start_process(command, node_env)
            time.sleep(rng.uniform(SOONEST, latest))  # start-up included: kills land anywhere
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
            delivered = db["outbox"].count_where("status = 'delivered'")
            stuck = delivered == (progress[-1] if progress else 0)
            latest = min(latest * 1.5, WIDEST) if stuck else LATEST
            progress.append(delivered)
            if delivered == ITEMS:
                break
        else:
            raise AssertionError(f"not drained in {MAX_SECONDS} s after {kills} kills")
        mid_way = [n for n in progress if 0 < n < ITEMS]
        assert len(mid_way) >= 3, f"too few kills in the middle of the drain: {progress}"
        print(f"\n{kills} kills; delivered after each: {progress}")
        rows = registry_rows(registry_app)
        assert len(rows) == ITEMS
        assert {row["submission_id"] for row in rows} == ids
        with registry_app.app_context():
            unique = (
                get_db()
                .execute("SELECT COUNT(DISTINCT submission_id) FROM applications")
                .fetchone()[0]
            )
        assert unique == ITEMS
        db.close()
    finally:
        registry.send_signal(signal.SIGKILL)
        registry.wait(10)
