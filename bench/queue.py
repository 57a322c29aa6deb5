"""Benchmark the queue: how fast a submission becomes durable, and how fast a backlog drains.

1. Submit latency: the node (`python run.py`, forwarder off) on loopback; 20 clients each
   fill in an application, then all press "Submit" at once; the time from the POST to its
   303 answer is the time to durable (the transaction, fsync included, commits first).
2. Drain rate: 10,000 sealed applications in the outbox, the reference registry
   (`python run.py registry`) on loopback, one forwarder (`flask queue work`); applications
   acknowledged per second until the queue is empty.

Run from the checkout: `python bench/queue.py` (options: --clients, --rounds, --backlog).
Everything stays on 127.0.0.1 and every loop is bounded.
"""

# ruff: noqa: E402 (imports follow the sys.path fix)
from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on the path, where this file would stand
# in for the standard library's `queue` module: take it off before anything imports `queue`.
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))

import argparse
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kiosk.db import connect
from tests.forwarding import make_node, make_registry, queue_applications
from tests.helpers import answers_for, token
from tests.system.server import Browser, Server, free_port, start_process, wait_for


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _filled_in(url: str) -> tuple[Browser, str]:
    """A client that has answered every question; returns it and the declaration's token."""
    browser = Browser(url)
    for slug, data in answers_for("ngo"):
        _status, _headers, page = browser.request(f"/apply/{slug}")
        browser.request(f"/apply/{slug}", {**data, "csrf_token": token(page)})
    _status, _headers, page = browser.request("/apply/declaration")
    return browser, token(page)


def submit_latency(clients: int, rounds: int) -> list[float]:
    """Seconds from each submit POST to its answer, `clients` at a time."""
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-node-"))
    server = Server(folder).start()
    samples: list[float] = []
    try:
        for _round in range(rounds):
            ready = [_filled_in(server.url) for _ in range(clients)]
            barrier = threading.Barrier(clients)

            def send(browser: Browser, csrf: str, barrier: threading.Barrier) -> None:
                barrier.wait()
                started = time.perf_counter()
                status, _headers, _page = browser.request(
                    "/apply/declaration", {"consent": "y", "csrf_token": csrf}
                )
                elapsed = time.perf_counter() - started
                if status != 303:
                    raise RuntimeError(f"submit answered {status}")
                samples.append(elapsed)

            threads = [threading.Thread(target=send, args=(*pair, barrier)) for pair in ready]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
    finally:
        server.kill()
    return samples


def drain_rate(backlog: int) -> tuple[float, float]:
    """(seconds to fill the outbox, seconds to drain it) for `backlog` applications."""
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-drain-"))
    registry_app = make_registry(folder / "registry")
    port = free_port()
    registry = start_process(
        [sys.executable, "run.py", "registry"],
        {**os.environ, "REGISTRY_INSTANCE": str(folder / "registry"), "REGISTRY_PORT": str(port)},
    )
    forwarder = None
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        node = make_node(folder / "node", registry_app, f"http://127.0.0.1:{port}")
        started = time.perf_counter()
        queue_applications(node, backlog)
        filled = time.perf_counter() - started
        env = {
            **os.environ,
            "KIOSK_INSTANCE": str(folder / "node"),
            "KIOSK_NODE_ID": "node-test",
            "KIOSK_REGISTRY_URL": f"http://127.0.0.1:{port}",
            "KIOSK_REGISTRY_TOKEN": node.config["REGISTRY_TOKEN"],
            "KIOSK_REGISTRY_PUBLIC_KEY": node.config["REGISTRY_PUBLIC_KEY"],
        }
        db = connect(folder / "node" / "kiosk.sqlite3")
        started = time.perf_counter()
        forwarder = start_process(
            [sys.executable, "-m", "flask", "--app", "kiosk", "queue", "work"], env
        )
        deadline = started + 1800
        while db["outbox"].count_where("status = 'delivered'") < backlog:
            if time.perf_counter() > deadline:
                raise RuntimeError("the backlog did not drain in 30 minutes")
            time.sleep(0.2)
        drained = time.perf_counter() - started
        db.close()
    finally:
        if forwarder:
            forwarder.kill()
        registry.kill()
    return filled, drained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backlog", type=int, default=10_000)
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"
    )
    samples = submit_latency(args.clients, args.rounds)
    ms = [s * 1000 for s in samples]
    print(f"\nsubmit POST to durable ({args.clients} concurrent clients, {len(ms)} submissions)")
    print(f"  p50 {percentile(ms, 0.5):7.1f} ms")
    print(f"  p99 {percentile(ms, 0.99):7.1f} ms")
    print(f"  mean {statistics.mean(ms):6.1f} ms, max {max(ms):.1f} ms")

    filled, drained = drain_rate(args.backlog)
    print(f"\nbacklog of {args.backlog:,} sealed applications")
    print(f"  queued in {filled:.1f} s ({args.backlog / filled:,.0f} submits/s, one at a time)")
    print(
        f"  drained in {drained:.1f} s: {args.backlog / drained:,.0f} deliveries/s to the registry"
    )


if __name__ == "__main__":
    main()
