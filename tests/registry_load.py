"""Many nodes delivering to one registry at once: the load test's and the benchmark's parts.

A simulated node is what the registry sees of a real one: an id, an Ed25519 key, a
token, and envelopes sealed to the registry's key exactly as kiosk/node.py seals them,
each carrying a valid payload. It delivers with the API's own rules (docs/registry-api.md):
the same envelope again, with the same Idempotency-Key, until it holds a receipt signed
by the registry for exactly that application.

Faults, each by chance: an envelope sent again after its receipt came (a node that lost
its record of it), an answer lost (the connection is closed before the answer is read,
so the node cannot know whether the registry kept it), and gunicorn workers killed with
SIGKILL mid-request (`GunicornRegistry.kill_a_worker`).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk import envelope, identifiers, payload, receipt
from kiosk.registry import database, store

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


@dataclass
class SimulatedNode:
    node_id: str
    signing_key: Ed25519PrivateKey
    token: str = ""
    outbox: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # id: (body, sha256)
    receipts: dict[str, dict] = field(default_factory=dict)


@dataclass
class Tally:
    """What happened on the wire, for the assertions and the figures."""

    sent: int = 0
    created: int = 0
    already: int = 0
    lost: int = 0  # answers dropped on purpose
    failed: int = 0  # refused connections, resets, 5xx: the worker died or was busy
    repeats: int = 0  # envelopes sent again after their receipt
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def registry_keys(instance: Path) -> tuple[X25519PrivateKey, Ed25519PrivateKey]:
    """The registry's keys in `instance`, made as `flask registry keygen` makes them."""
    instance.mkdir(parents=True, exist_ok=True)
    encryption = X25519PrivateKey.generate()
    envelope.write_private_key(instance / "registry_key", encryption)
    return encryption, receipt.private_key(instance / "receipt_key")


def make_nodes(config: dict, count: int, per_node: int, registry_key, seed: int = 1):
    """`count` nodes registered at the registry, each with `per_node` sealed applications."""
    rng = random.Random(seed)
    template = _answers()
    nodes = []
    with database.connected(config, pooled=False) as db:
        for number in range(count):
            node = SimulatedNode(f"load-{number:04d}", Ed25519PrivateKey.generate())
            node.token = store.add_node(db, node.node_id, envelope.public_text(node.signing_key))
            for _ in range(per_node):
                submission_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                text = payload.encode(
                    payload.build(
                        template,
                        submission_id=submission_id,
                        reference=identifiers.new_reference(),
                        submitted_at="2026-12-02T10:00:00+05:00",
                        locale="kk",
                    )
                )
                sealed = envelope.seal(
                    text.encode(),
                    node_id=node.node_id,
                    submission_id=submission_id,
                    signing_key=node.signing_key,
                    registry_key=registry_key.public_key(),
                )
                node.outbox[submission_id] = (
                    json.dumps(sealed).encode(),
                    payload.sha256(text),
                )
            nodes.append(node)
    return nodes


def _answers() -> dict:
    from tests.forwarding import flat_answers

    return flat_answers()


def post(port: int, node: SimulatedNode, submission_id: str, *, lose: bool) -> dict | None:
    """One delivery attempt: the JSON answer, or None when none came (or was thrown away)."""
    body, _ = node.outbox[submission_id]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/applications",
            body=body,
            headers={
                "Authorization": f"Bearer {node.token}",
                "Idempotency-Key": submission_id,
                "Content-Type": "application/json",
            },
        )
        if lose:
            conn.sock.shutdown(socket.SHUT_RDWR)  # the answer never reaches the node
            return None
        answer = conn.getresponse()
        data = answer.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if 400 <= answer.status < 500:  # a refusal is a bug in this harness, not a fault to retry
        raise AssertionError(f"{answer.status} {data[:200]!r}")
    if answer.status not in (200, 201):
        return None
    return json.loads(data)


def deliver(
    port: int,
    node: SimulatedNode,
    signing_key,
    tally: Tally,
    rng: random.Random,
    *,
    lose: float = 0.0,
    repeat: float = 0.0,
) -> None:
    """Send every application in the node's outbox until it has a receipt it can check."""
    for submission_id, (_, sha256) in node.outbox.items():
        tries = 0
        while submission_id not in node.receipts:
            tries += 1
            dropped = rng.random() < lose
            answer = post(port, node, submission_id, lose=dropped)
            tally.add(sent=1, lost=int(dropped))
            if answer is None:
                tally.add(failed=int(not dropped))
                time.sleep(min(0.5, 0.01 * 2 ** min(tries, 6)) * rng.random())
                continue
            receipt.check(
                answer,
                key=signing_key.public_key(),
                node_id=node.node_id,
                submission_id=submission_id,
                payload_sha256=sha256,
            )
            tally.add(**{"created" if answer["status"] == "created" else "already": 1})
            node.receipts[submission_id] = answer
        if rng.random() < repeat:  # the node lost its record and sends it again
            again = post(port, node, submission_id, lose=False)
            if again is not None:
                tally.add(sent=1, repeats=1, already=int(again["status"] == "already_received"))
                assert again["registry_id"] == node.receipts[submission_id]["registry_id"]


def deliver_all(
    port: int, nodes, signing_key, *, threads: int, processes: int = 1, seed: int = 2, **faults
) -> Tally:
    """Every node delivers its outbox, `threads` nodes at a time.

    With `processes` > 1 the nodes are shared among that many forked client processes (a
    Python process's threads share one core's worth of CPU: one client process can be
    the bottleneck rather than the registry). Their receipts come back to `nodes`.
    """
    if processes == 1:
        return _deliver_here(port, nodes, signing_key, threads=threads, seed=seed, **faults)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    share = max(1, threads // processes)
    children = [
        context.Process(
            target=_deliver_in_child,
            args=(results, port, nodes[n::processes], signing_key, share, seed + n, faults),
        )
        for n in range(processes)
    ]
    for child in children:
        child.start()
    tally = Tally()
    by_id = {node.node_id: node for node in nodes}
    for _ in children:
        counts, receipts = results.get()
        tally.add(**counts)
        for node_id, held in receipts.items():
            by_id[node_id].receipts.update(held)
    for child in children:
        child.join()
    return tally


def _deliver_in_child(results, port, nodes, signing_key, threads, seed, faults) -> None:
    tally = _deliver_here(port, nodes, signing_key, threads=threads, seed=seed, **faults)
    counts = {name: getattr(tally, name) for name in COUNTS}
    results.put((counts, {node.node_id: node.receipts for node in nodes}))


COUNTS = ("sent", "created", "already", "lost", "failed", "repeats")


def _deliver_here(port: int, nodes, signing_key, *, threads: int, seed: int, **faults) -> Tally:
    tally = Tally()
    queue = list(nodes)
    lock = threading.Lock()

    def work(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        while True:
            with lock:
                if not queue:
                    return
                node = queue.pop()
            deliver(port, node, signing_key, tally, rng, **faults)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tally


class GunicornRegistry:
    """The registry as README deploys it on Linux: gunicorn, N workers, deploy/gunicorn.conf.py."""

    def __init__(self, instance: Path, database_url: str, workers: int) -> None:
        self.port = _free_port()
        self.workers = workers
        self.env = {
            **os.environ,
            "REGISTRY_INSTANCE": str(instance),
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_BIND": f"127.0.0.1:{self.port}",
            "REGISTRY_WORKERS": str(workers),
        }
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> GunicornRegistry:
        self.process = subprocess.Popen(
            [GUNICORN, "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < self.workers or not self._answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """The master's children: its workers (a killed one is replaced by a new pid)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if self.process and int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.append(int(stat.parent.name))
        return pids

    def kill_a_worker(self, rng: random.Random) -> None:
        pids = self.worker_pids()
        if pids:
            try:
                os.kill(rng.choice(pids), signal.SIGKILL)
                self.kills += 1
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def killing(registry: GunicornRegistry, every: float, seed: int = 3) -> Callable[[], None]:
    """Kill a random worker every `every` seconds (jittered) until the returned stop() is called."""
    rng = random.Random(seed)
    done = threading.Event()

    def run() -> None:
        while not done.wait(every * (0.5 + rng.random())):
            registry.kill_a_worker(rng)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join()

    return stop


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
