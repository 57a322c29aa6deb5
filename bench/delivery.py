"""How fast supporting documents reach the registry, and what a killed forwarder costs.

`python bench/delivery.py` (options --mb, default 25; --kills, default 10; --delay, default
0.05) submits one application with that many MB of files (three PDFs, as the documents page
keeps them: sealed to the registry's key) and delivers it to a reference registry served in
this process:

1. without kills: the forwarder in this process, turn after turn, straight to the registry
   and then through a proxy that holds each request back by --delay seconds (a slow link):
   seconds, MB/s, requests;
2. with kills: `flask queue work` as a process of its own, SIGKILLed --kills times at
   random moments during the upload, then left to finish: seconds, and the bytes that
   reached the registry twice, in all and per kill (at most one chunk,
   kiosk.outbox.files.CHUNK, is expected).

It prints figures and asserts nothing.
"""

# ruff: noqa: E402 (imports follow the sys.path fix)
from __future__ import annotations

import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))

import argparse
import random
import signal
import tempfile
import threading
import time
from pathlib import Path

from kiosk.db import connect
from kiosk.outbox import files
from kiosk.outbox.forwarder import Forwarder
from tests import documents_samples as samples
from tests.forwarding import ScriptedProxy, make_node, make_registry, serve_in_thread
from tests.system.server import FORWARDER, forwarder_env, start_process
from tests.system.test_files_delivery import submit_with

MB = 1024 * 1024


class PatchBytes:
    """WSGI middleware: bytes of PATCH bodies and requests that reached the registry."""

    def __init__(self, app) -> None:
        self.app, self.total, self.requests, self.lock = app, 0, 0, threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.requests += 1
            if environ["REQUEST_METHOD"] == "PATCH":
                self.total += int(environ.get("CONTENT_LENGTH") or 0)
        return self.app(environ, start_response)


def contents(mb: float) -> list[bytes]:
    """Three distinct PDFs of `mb` megabytes together, each under the 10 MB limit."""
    total = int(mb * MB)
    sizes = [min(10 * MB - 4096, total // 3) - n * 1024 for n in range(3)]
    return [samples.big_pdf(size) for size in sizes]


def setup(folder: Path, mb: float, delay: float | None):
    registry_app = make_registry(folder / "registry")
    counted = PatchBytes(registry_app.wsgi_app)
    registry_app.wsgi_app = counted
    url, server = serve_in_thread(registry_app)
    proxy = None
    if delay is not None:
        proxy = ScriptedProxy(url, slow=delay)
        proxy.script.extend(["slow"] * 1_000_000)
        url = proxy.url
    node = make_node(folder / "node", registry_app, url)
    submission_id, _cleaned = submit_with(node, *contents(mb))
    db = connect(node.config["DATABASE"])
    sealed = sum(len(row["sealed"]) for row in db["attachments"].rows)
    return registry_app, counted, server, proxy, node, db, sealed


def in_process(mb: float, delay: float | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _app, counted, server, proxy, node, db, sealed = setup(Path(folder), mb, delay)
        forwarder = Forwarder(node)
        started = time.monotonic()
        while db.execute("SELECT status FROM outbox").fetchone()[0] != "delivered":
            db.execute("UPDATE outbox SET next_attempt_at = created_at WHERE status = 'waiting'")
            forwarder.step(db)
        seconds = time.monotonic() - started
        where = "straight" if delay is None else f"through a proxy adding {delay:.2f} s"
        print(
            f"no kills, {where}: {sealed / MB:.1f} MB sealed in {seconds:.1f} s, "
            f"{sealed / MB / seconds:.1f} MB/s, {counted.requests} requests "
            f"(chunks of {files.CHUNK // 1024} KiB)"
        )
        db.close()
        if proxy:
            proxy.close()
        server.close()


def with_kills(mb: float, kills: int, delay: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _app, counted, server, proxy, node, db, sealed = setup(Path(folder), mb, delay)
        env = forwarder_env(Path(folder) / "node", node.config, proxy.url)
        command = FORWARDER
        rng = random.Random(1)
        started = time.monotonic()
        for _ in range(kills):
            worker = start_process(command, env)
            time.sleep(rng.uniform(1.0, 2.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        worker = start_process(command, env)
        while db.execute("SELECT status FROM outbox").fetchone()[0] != "delivered":
            time.sleep(0.1)
        seconds = time.monotonic() - started
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        again = counted.total - sealed
        print(
            f"{kills} kills, through a proxy adding {delay:.2f} s: {sealed / MB:.1f} MB in "
            f"{seconds:.1f} s (start-ups included); {again} bytes sent twice, "
            f"{again / kills:.0f} per kill (a chunk is {files.CHUNK})"
        )
        db.close()
        proxy.close()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=25)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.05)
    options = parser.parse_args()
    in_process(options.mb, None)
    in_process(options.mb, options.delay)
    with_kills(options.mb, options.kills, options.delay)


if __name__ == "__main__":
    main()
