"""Applications per second the registry takes: SQLite with 1 worker, PostgreSQL with 1 and 4.

`python bench/registry.py` (options --nodes 200, --per-node 100, --threads 16, --processes 4,
--faults)
starts a throwaway PostgreSQL (tests/postgres.py), then for each setting serves the
registry as README deploys it (gunicorn, deploy/gunicorn.conf.py) on 127.0.0.1, and lets
the simulated nodes of tests/registry_load.py deliver every application: each envelope
sealed to the registry's key and signed, each receipt checked. It prints applications per
second, the requests sent, and the registry's final count (which must equal the number
of applications). With --faults, answers are lost (3 %), envelopes sent again after
their receipt (2 %) and a worker is SIGKILLed every 2 s, as in the load test.

The clients run in this process on the same machine, so they take CPU from the workers:
compare the settings with each other rather than read the figures as a server's limit.
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
import platform
import tempfile
import time
from pathlib import Path

from kiosk.registry import create_registry_app, database
from tests.postgres import postgres_server
from tests.registry_load import GunicornRegistry, deliver_all, killing, make_nodes, registry_keys

SETTINGS = (("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 4))


def run(backend: str, workers: int, args, server) -> dict:
    instance = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    url = server.create_database() if backend == "PostgreSQL" else ""
    config = {"DATABASE": str(instance / "registry.sqlite3"), "DATABASE_URL": url}
    encryption, signing = registry_keys(instance)
    create_registry_app({"INSTANCE": instance, **config})
    nodes = make_nodes(config, args.nodes, args.per_node, encryption)
    registry = GunicornRegistry(instance, url, workers).start()
    faults = {"lose": 0.03, "repeat": 0.02} if args.faults else {}
    try:
        stop = killing(registry, every=2.0) if args.faults else (lambda: None)
        started = time.perf_counter()
        tally = deliver_all(
            registry.port,
            nodes,
            signing,
            threads=args.threads,
            processes=args.processes,
            **faults,
        )
        seconds = time.perf_counter() - started
        stop()
    finally:
        registry.stop()
        database.close_pools()
    with database.connected(config, pooled=False) as db:
        held = db.execute("SELECT COUNT(*) FROM applications").fetchone()[0]
    if url:
        server.drop_database(url)
    total = args.nodes * args.per_node
    return {
        "setting": f"{backend}, {workers} worker{'s' if workers > 1 else ''}",
        "apps_per_s": total / seconds,
        "seconds": seconds,
        "requests": tally.sent,
        "held": held,
        "total": total,
        "kills": registry.kills,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--per-node", type=int, default=100)
    parser.add_argument("--threads", type=int, default=16, help="nodes delivering at once")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--faults", action="store_true", help="lost answers, repeats, kills")
    args = parser.parse_args()
    print(
        f"{args.nodes} nodes × {args.per_node} applications, {args.threads} at once"
        f" from {args.processes} client processes;"
        f" faults {'on' if args.faults else 'off'}; {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}"
    )
    print(f"{'setting':<24}{'apps/s':>9}{'seconds':>9}{'requests':>10}{'held':>8}{'kills':>7}")
    with postgres_server() as server:
        for backend, workers in SETTINGS:
            row = run(backend, workers, args, server)
            print(
                f"{row['setting']:<24}{row['apps_per_s']:>9.0f}{row['seconds']:>9.1f}"
                f"{row['requests']:>10}{row['held']:>8}{row['kills']:>7}",
                flush=True,
            )
            if row["held"] != row["total"]:
                print(f"  the registry holds {row['held']}, not {row['total']}")


if __name__ == "__main__":
    main()
