"""Kill the forwarder with SIGKILL 20 times while it delivers 25 MB of supporting documents.

The forwarder runs as `flask queue work`, a process of its own, and is killed at random
moments; the registry (served here, so it can count what reaches it) sits behind a proxy
that slows every request a little, so the kills land in the middle of files. In the end
the registry holds every file once, hash-equal, and the application once with its
receipt; and each kill cost at most the chunk that was on its way, never a file.

Kills land 1 to 2.5 s after a worker starts, start-up included. A kill after which no more
bytes arrived widens the next one's window (1.5 times, up to 20 s): on a loaded machine a
worker may take longer than 2.5 s just to start, and kills that always land in start-up
would test nothing.
"""

from __future__ import annotations

import random
import signal
import threading
import time

from kiosk.db import connect
from kiosk.outbox import files
from kiosk.registry.database import get_db as registry_db
from tests import documents_samples as samples
from tests.forwarding import ScriptedProxy, make_node, make_registry, registry_rows, serve_in_thread
from tests.system.server import FORWARDER, forwarder_env, start_process
from tests.system.test_files_delivery import held, submit_with

KILLS = 20
MAX_SECONDS = 300
SOONEST, LATEST, WIDEST = 1.0, 2.5, 20.0  # seconds from a worker's start to its kill
MB = 1024 * 1024


class PatchBytes:
    """WSGI middleware: how many bytes of PATCH bodies reached the registry."""

    def __init__(self, app) -> None:
        self.app, self.total, self.lock = app, 0, threading.Lock()

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "PATCH":
            with self.lock:
                self.total += int(environ.get("CONTENT_LENGTH") or 0)
        return self.app(environ, start_response)


def test_twenty_kills_during_a_25_mb_delivery_lose_nothing_and_resend_at_most_a_chunk_each(
    tmp_path,
):
    registry_app = make_registry(tmp_path / "registry")
    counted = PatchBytes(registry_app.wsgi_app)
    registry_app.wsgi_app = counted
    url, server = serve_in_thread(registry_app)
    proxy = ScriptedProxy(url)
    proxy.script.extend(["slow"] * 100_000)  # 0.2 s more for every request
    try:
        node = make_node(tmp_path / "node", registry_app, proxy.url)
        contents = [samples.big_pdf(10 * MB - 4096), samples.big_pdf(10 * MB - 8192)]
        contents.append(samples.big_pdf(5 * MB - 4096))
        submission_id, cleaned = submit_with(node, *contents)
        db = connect(node.config["DATABASE"])
        sealed = sum(len(row["sealed"]) for row in db["attachments"].rows)
        assert sealed > 24 * MB
        env = forwarder_env(tmp_path / "node", node.config, proxy.url)
        command = FORWARDER
        rng = random.Random(20261201)
        kills, landed, deadline = 0, [], time.monotonic() + MAX_SECONDS
        latest = LATEST
        while kills < KILLS and time.monotonic() < deadline:
            worker = start_process(command, env)
            time.sleep(rng.uniform(SOONEST, latest))  # start-up included: kills land anywhere
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
            stuck = counted.total == (landed[-1] if landed else 0)
            latest = min(latest * 1.5, WIDEST) if stuck else LATEST
            landed.append(counted.total)
        assert kills == KILLS
        mid_file = [n for n in landed if 0 < n < sealed]
        assert len(mid_file) >= KILLS // 2, f"too few kills during the upload: {landed}"
        worker = start_process(command, env)  # and once more, left to finish
        try:
            while time.monotonic() < deadline:
                status = db.execute("SELECT status FROM outbox").fetchone()[0]
                if status == "delivered":
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"not delivered in {MAX_SECONDS} s")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        assert held(registry_app, submission_id) == {c.sha256: c.data for c in cleaned}
        [row] = registry_rows(registry_app)
        assert row["submission_id"] == submission_id
        with registry_app.app_context():
            assert registry_db().execute("SELECT COUNT(*) FROM files").fetchone()[0] == len(cleaned)
        resent = counted.total - sealed
        print(
            f"\n{kills} kills, {len(mid_file)} in mid-file; {sealed} bytes sealed, "
            f"{counted.total} sent ({resent} again, {resent / kills:.0f} per kill)"
        )
        assert 0 <= resent <= kills * files.CHUNK
        db.close()
    finally:
        proxy.close()
        server.close()
