"""Store and forward against the reference registry: nothing lost, nothing twice."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk import bundle, envelope, outbox, payload
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, Outcome, deliver, full_jitter, registry_of
from tests.forwarding import (
    ScriptedProxy,
    make_node,
    make_registry,
    queue_applications,
    registry_env,
    registry_rows,
    serve_in_thread,
)


@pytest.fixture
def registry(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    url, server = serve_in_thread(app)
    yield app, url
    server.close()


@pytest.fixture
def proxy(registry):
    scripted = ScriptedProxy(registry[1])
    yield scripted
    scripted.close()


@pytest.fixture
def node(tmp_path, registry, proxy):
    return make_node(tmp_path / "node", registry[0], proxy.url)


@pytest.fixture
def db(node):
    database = connect(node.config["DATABASE"])
    yield database
    database.close()


def drain(node_app, db, limit: int = 500) -> list[Outcome]:
    """Step the forwarder until nothing is due (waiting for backoff when needed)."""
    forwarder = Forwarder(node_app)
    outcomes = []
    for _ in range(limit):
        result = forwarder.step(db)
        if result is None:
            if outbox.waiting_count(db) == 0 or outbox.paused(db):
                return outcomes
            forwarder.stop.wait(0.02)  # let the short test backoff pass
            continue
        outcomes.append(result.outcome)
    raise AssertionError(f"queue did not drain: {outbox.summary(db)}")


def states(db) -> dict[str, int]:
    return {k: v for k, v in outbox.summary(db)["counts"].items() if v}


def test_delivers_every_item_once_and_keeps_only_id_hash_time_and_receipt(node, db, registry):
    ids = queue_applications(node, 5)
    assert drain(node, db) == [Outcome.DELIVERED] * 5
    assert states(db) == {"delivered": 5}
    rows = registry_rows(registry[0])
    assert sorted(r["submission_id"] for r in rows) == sorted(ids)
    for row in db.execute("SELECT envelope, envelope_sha256, delivered_at, receipt FROM outbox"):
        assert row[0] is None  # ciphertext deleted after delivery
        assert row[1] and row[2] and json.loads(row[3])["status"] == "created"


def test_registry_down_then_up_delivers_all_exactly_once(tmp_path, registry):
    node = make_node(tmp_path / "node", registry[0], "http://127.0.0.1:9")  # nothing listens
    node.config.update(BACKOFF_BASE=30, BACKOFF_CAP=60)  # no retry falls due during the test
    ids = queue_applications(node, 3)
    db = connect(node.config["DATABASE"])
    forwarder = Forwarder(node)
    for _ in range(3):
        assert forwarder.step(db).outcome is Outcome.RETRY
    assert states(db) == {"waiting": 3}
    errors = [row[0] for row in db.execute("SELECT last_error FROM outbox")]
    assert all(e.startswith("network: ") for e in errors)
    node.config["REGISTRY_URL"] = registry[1]  # the network comes back...
    db.execute("UPDATE outbox SET next_attempt_at = created_at")  # ...when the retries fall due
    node.config.update(BACKOFF_BASE=0.01, BACKOFF_CAP=0.05)
    drain(node, db)
    assert states(db) == {"delivered": 3}
    assert sorted(r["submission_id"] for r in registry_rows(registry[0])) == sorted(ids)
    db.close()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (500, "HTTP 500"),
        (503, "HTTP 503"),
        (429, "HTTP 429"),
        (408, "HTTP 408"),
        (404, "HTTP 404"),
        ("reset", "network"),
        ("hang", "network"),  # a timeout
        ("portal", "without a receipt"),  # a captive portal's 200 is not a delivery
    ],
)
def test_passing_faults_are_retried_until_delivered_once(node, db, registry, proxy, fault, error):
    [submission_id] = queue_applications(node, 1)
    proxy.script.extend([fault, fault])
    forwarder = Forwarder(node)
    assert forwarder.step(db).outcome is Outcome.RETRY
    row = db.execute("SELECT status, last_error FROM outbox").fetchone()
    assert row[0] == "waiting" and error in row[1]
    drain(node, db)
    assert states(db) == {"delivered": 1}
    assert [r["submission_id"] for r in registry_rows(registry[0])] == [submission_id]


def test_a_slow_answer_within_the_timeout_is_a_delivery(node, db, proxy):
    queue_applications(node, 1)
    proxy.script.append("slow")
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED


def test_a_delivery_whose_answer_was_lost_is_resent_and_counted_once(node, db, registry, proxy):
    """The registry stored it but the answer never came back: the resend gets the same receipt."""
    [submission_id] = queue_applications(node, 1)
    item = outbox.claim(connect(node.config["DATABASE"]), timedelta(seconds=5), timedelta(0))
    first = deliver(registry_of(node), item)
    again = deliver(registry_of(node), item)
    assert first.outcome is again.outcome is Outcome.DELIVERED
    assert first.receipt["status"] == "created" and again.receipt["status"] == "already_received"
    assert first.receipt["registry_id"] == again.receipt["registry_id"]
    assert [r["submission_id"] for r in registry_rows(registry[0])] == [submission_id]


def test_same_key_with_a_changed_payload_is_refused_and_never_overwrites(node, db, registry):
    [submission_id] = queue_applications(node, 1)
    drain(node, db)
    stored = registry_rows(registry[0])[0]["payload"]
    changed = json.loads(stored)
    changed["project"]["title"] = "Another title"
    sealed = node.extensions["node"].seal(payload.encode(changed).encode(), submission_id)
    item = outbox.Item(submission_id, envelope.canonical(sealed), 2)
    result = deliver(registry_of(node), item)
    assert result.outcome is Outcome.DEAD and "HTTP 409" in result.detail
    assert registry_rows(registry[0])[0]["payload"] == stored


def test_one_application_from_a_second_node_is_refused_even_unchanged(tmp_path, node, db, registry):
    """Resumed on another node with its return code: one submission id, one application."""
    [submission_id] = queue_applications(node, 1)
    drain(node, db)
    [stored] = registry_rows(registry[0])
    other = make_node(tmp_path / "other", registry[0], registry[1], node_id="node-b")
    sealed = other.extensions["node"].seal(stored["payload"].encode(), submission_id)
    item = outbox.Item(submission_id, envelope.canonical(sealed), 1)
    result = deliver(registry_of(other), item)
    assert result.outcome is Outcome.DEAD and "HTTP 409" in result.detail
    assert "received before from another node" in result.detail
    assert registry_rows(registry[0]) == [stored]


def test_wrong_credentials_pause_the_whole_queue(node, db, registry):
    queue_applications(node, 3)
    node.config["REGISTRY_TOKEN"] = "not-the-token"
    forwarder = Forwarder(node)
    result = forwarder.step(db)
    assert result.outcome is Outcome.PAUSE and "HTTP 401" in result.detail
    assert states(db) == {"queued": 3}  # nothing was counted as tried
    assert forwarder.step(db) is None  # paused: nothing is sent
    reason, _since = outbox.paused(db)
    assert "401" in reason
    output = node.test_cli_runner().invoke(args=["queue", "status"]).output
    assert "PAUSED" in output and "401" in output
    node.config["REGISTRY_TOKEN"] = _token_for(node, registry[0])
    assert "not paused" in node.test_cli_runner().invoke(args=["queue", "retry"]).output
    drain(node, db)
    assert states(db) == {"delivered": 3}


def _token_for(node, registry_app) -> str:
    from kiosk.registry import store
    from kiosk.registry.database import get_db as registry_db

    public = envelope.public_text(
        envelope.node_signing_key(Path(node.config["INSTANCE"]) / "node_key")
    )
    with registry_app.app_context():
        return store.add_node(registry_db(), "node-test", public)


def test_an_invalid_payload_goes_to_dead_while_the_rest_flow(node, db, registry):
    ids = queue_applications(node, 2)
    poison_id = "00000000-0000-4000-8000-000000000000"
    poison = node.extensions["node"].seal(b'{"schema": "nonsense"}', poison_id)
    with node.app_context():
        db.execute(
            "INSERT INTO submissions (id, reference, locale, submitted_at, payload_sha256)"
            " VALUES (?, 'AAAA-AAAA-0', 'kk', '2026-01-01', 'x')",
            [poison_id],
        )
        outbox.enqueue(db, poison_id, envelope.canonical(poison), "x")
    ids.extend(queue_applications(node, 2))
    drain(node, db)
    assert states(db) == {"delivered": 4, "dead": 1}
    report = outbox.summary(db)
    assert (
        report["dead"][0]["submission_id"] == poison_id
        and "HTTP 422" in report["dead"][0]["reason"]
    )
    assert sorted(r["submission_id"] for r in registry_rows(registry[0])) == sorted(ids)
    assert "Revived 1" in node.test_cli_runner().invoke(args=["queue", "retry"]).output
    assert states(db) == {"delivered": 4, "queued": 1}


def test_the_node_cannot_read_what_it_queued(node, db, registry):
    queue_applications(node, 1)
    sealed = json.loads(db.execute("SELECT envelope FROM outbox").fetchone()[0])
    assert sealed["encryption"] == envelope.HPKE
    body = base64.b64decode(sealed["body"])
    assert "Айгерім".encode() not in body and b"+7701" not in body
    folder = Path(node.config["INSTANCE"])
    for path in folder.iterdir():  # database, WAL, keys: no plaintext personal data anywhere
        if path.is_file():
            data = path.read_bytes()
            assert "Айгерім".encode() not in data and b"77012345678" not in data, path.name
    # The node's only private key signs; it cannot open the envelope.
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    node_key_bytes = base64.b64decode((folder / "node_key").read_text())
    with pytest.raises(envelope.EnvelopeError):
        envelope.open_envelope(
            sealed,
            node_key=envelope.node_signing_key(folder / "node_key").public_key(),
            registry_key=X25519PrivateKey.from_private_bytes(node_key_bytes),
        )
    drain(node, db)
    stored = json.loads(registry_rows(registry[0])[0]["payload"])
    assert stored["contact"]["name"] == "Айгерім Серікова"  # the registry can


def test_a_tampered_envelope_is_refused(node, db, registry):
    [submission_id] = queue_applications(node, 1)
    sealed = json.loads(db.execute("SELECT envelope FROM outbox").fetchone()[0])
    body = bytearray(base64.b64decode(sealed["body"]))
    body[-1] ^= 1
    sealed["body"] = base64.b64encode(bytes(body)).decode()
    item = outbox.Item(submission_id, envelope.canonical(sealed), 1)
    result = deliver(registry_of(node), item)
    assert result.outcome is Outcome.DEAD and "signature" in result.detail
    assert registry_rows(registry[0]) == []


def test_interrupted_sends_return_to_the_queue_when_a_forwarder_starts(node, db):
    queue_applications(node, 2)
    outbox.claim(db, timedelta(minutes=10), timedelta(0))  # a forwarder took it, then died
    assert states(db) == {"sending": 1, "queued": 1}
    assert outbox.release_leases(db) == 0  # the lease has not expired...
    assert outbox.release_leases(db, expired_only=False) == 1  # ...but the lock says it is dead
    assert states(db) == {"queued": 2}


def test_only_one_forwarder_runs_per_node(node):
    first, second = Forwarder(node), Forwarder(node)
    first.lock.acquire(timeout=0)
    try:
        assert second.run() is False
    finally:
        first.lock.release()


def test_bundle_roundtrip_and_tamper_detection(node, db, registry, tmp_path):
    ids = queue_applications(node, 3)
    runner = node.test_cli_runner()
    usb = tmp_path / "usb"
    assert "Wrote 3 envelopes" in runner.invoke(args=["queue", "export", str(usb)]).output
    assert [row["event"] for row in db["audit"].rows] == ["queue_export"]
    [file] = list(usb.iterdir())
    env = registry_env(registry[0])

    tampered = json.loads(file.read_text())
    tampered["envelopes"].pop()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tampered))
    result = runner.invoke(args=["registry", "import", str(bad)], env=env)
    assert result.exit_code != 0 and "refused" in result.output
    assert registry_rows(registry[0]) == []

    result = runner.invoke(args=["registry", "import", str(file)], env=env)
    assert "Imported 3 new applications; 0 were already here" in result.output
    again = runner.invoke(args=["registry", "import", str(file)], env=env)
    assert "Imported 0 new applications; 3 were already here" in again.output
    assert sorted(r["submission_id"] for r in registry_rows(registry[0])) == sorted(ids)
    assert {r["via"] for r in registry_rows(registry[0])} == {"bundle"}
    drain(node, db)  # the network path later finds them already received: no duplicates
    assert states(db) == {"delivered": 3} and len(registry_rows(registry[0])) == 3


def test_bundle_with_a_changed_envelope_is_refused(node, registry):
    queue_applications(node, 2)
    db = connect(node.config["DATABASE"])
    texts = [row[0] for row in db.execute("SELECT envelope FROM outbox")]
    made = bundle.make("node-test", node.extensions["node"].signing_key, texts)
    made["envelopes"][0]["signature"] = made["envelopes"][1]["signature"]
    public = node.extensions["node"].signing_key.public_key()
    with pytest.raises(bundle.BundleError):
        bundle.open_bundle(made, public)
    db.close()


def test_status_page_says_waiting_then_received(node, db):
    client = node.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    queue_applications(node, 1)
    reference = db.execute("SELECT reference FROM submissions").fetchone()[0]
    assert "Waiting to be sent" in client.get(f"/status?reference={reference}").text
    drain(node, db)
    page = client.get(f"/status?reference={reference.lower()}").text
    assert "Received by the central registry on" in page


def test_queue_status_reports_counts_age_and_last_delivery(node, db):
    queue_applications(node, 2)
    output = node.test_cli_runner().invoke(args=["queue", "status"]).output
    assert "queued     2" in output and "last delivery:  never" in output
    drain(node, db)
    output = node.test_cli_runner().invoke(args=["queue", "status"]).output
    assert "delivered  2" in output and "never" not in output


def test_delivered_items_are_forgotten_after_the_keep_days(node, db):
    queue_applications(node, 1)
    drain(node, db)
    assert outbox.purge_delivered(db, keep_days=30) == 0
    db.execute("UPDATE outbox SET delivered_at = '2020-01-01T00:00:00+00:00'")
    assert outbox.purge_delivered(db, keep_days=30) == 1
    assert db["outbox"].count == 0 and db["submissions"].count == 0


def test_full_jitter_stays_within_the_growing_cap():
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (7, 1800), (30, 1800)]:
        waits = [full_jitter(attempt, 30, 1800) for _ in range(300)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8 and min(waits) < ceiling * 0.2  # spread, not fixed
