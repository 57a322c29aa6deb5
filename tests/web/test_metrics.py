"""GET /metrics on a node: the right numbers after real work, and only for whom it is meant.

The numbers: a real registry takes real deliveries (and refuses some, through a
scripted proxy), and every count moves by exactly what happened. The forwarder in
a process of its own (`flask queue work`) is counted in the web server's answer.
Access: this host itself, not through nginx (which connects from 127.0.0.1 too), or
the bearer token; anyone else gets the node's ordinary 404 page. No label or value
carries what an applicant typed, their reference or their submission id.
"""

from __future__ import annotations

import json
import secrets
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kiosk import metrics, outbox
from kiosk.config import ConfigError
from kiosk.db import connect
from kiosk.outbox import heartbeat
from kiosk.outbox.forwarder import Forwarder, Outcome
from tests.forwarding import (
    ScriptedProxy,
    make_node,
    make_registry,
    queue_applications,
    served,
)
from tests.helpers import answers_for, post_step, submit, with_check_digit
from tests.system.server import FORWARDER, Server, forwarder_env, start_process

TOKEN = secrets.token_hex(32)

# An applicant no metric may ever name.
NAME = "Зарина Тестқызы Метрикова"
IIN = with_check_digit("95031240012")
PHONE = "+7 701 987 65 43"
PHONE_FORMS = ("+77019876543", "7019876543", "701 987 65 43", "987 65 43")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample in a scrape, by (name, labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    """One sample's value, or None when the scrape has no such sample."""
    return samples(text).get((name, frozenset(labels.items())))


def scrape(app, **kwargs) -> str:
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.text[:500]
    assert response.content_type.startswith("text/plain")
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def attempts(text: str, outcome: str) -> float:
    return value(text, "kiosk_delivery_attempts_total", outcome=outcome) or 0.0


def timed_attempts(text: str, outcome: str) -> float:
    return value(text, "kiosk_delivery_attempt_duration_seconds_count", outcome=outcome) or 0.0


def items(text: str) -> dict[str, float]:
    return {state: value(text, "kiosk_outbox_items", state=state) for state in outbox.STATES}


@pytest.fixture
def registry(tmp_path):
    app = make_registry(tmp_path / "registry")
    with served(app) as url:
        yield app, url


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


# The numbers ------------------------------------------------------------------------------


def test_deliveries_retries_and_refusals_are_counted_exactly(node, db, proxy):
    queue_applications(node, 4)
    before = scrape(node)
    assert items(before) == {"queued": 4, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0}
    assert attempts(before, "delivered") == 0 and timed_attempts(before, "delivered") == 0
    assert value(before, "kiosk_outbox_oldest_waiting_seconds") > 0

    forwarder = Forwarder(node)
    proxy.script.extend([503, 422])  # the first answer is passing trouble, the second final
    assert forwarder.step(db).outcome is Outcome.RETRY
    assert forwarder.step(db).outcome is Outcome.DEAD
    outcomes = []
    while (result := forwarder.step(db)) is not None or outbox.waiting_count(db):
        if result is None:
            forwarder.stop.wait(0.02)  # the test's short backoff
        else:
            outcomes.append(result.outcome)
    assert outcomes == [Outcome.DELIVERED] * 3

    after = scrape(node)
    assert attempts(after, "delivered") == 3 and timed_attempts(after, "delivered") == 3
    assert attempts(after, "retry") == 1 and timed_attempts(after, "retry") == 1
    assert attempts(after, "dead") == 1 and timed_attempts(after, "dead") == 1
    assert attempts(after, "pause") == 0 and attempts(after, "error") == 0
    assert items(after) == {"queued": 0, "sending": 0, "waiting": 0, "delivered": 3, "dead": 1}
    assert value(after, "kiosk_outbox_oldest_waiting_seconds") == 0
    assert value(after, "kiosk_outbox_paused") == 0
    assert value(after, "kiosk_database_up") == 1
    # A turn's time is in its histogram: the sum is real seconds, every attempt in +Inf.
    inf = value(
        after, "kiosk_delivery_attempt_duration_seconds_bucket", outcome="delivered", le="+Inf"
    )
    assert inf == 3
    assert value(after, "kiosk_delivery_attempt_duration_seconds_sum", outcome="delivered") > 0


def test_a_paused_queue_and_an_idle_turn(node, db, proxy):
    queue_applications(node, 1)
    forwarder = Forwarder(node)
    proxy.script.append(401)
    assert forwarder.step(db).outcome is Outcome.PAUSE
    assert forwarder.step(db) is None  # paused: nothing is tried, nothing is counted
    text = scrape(node)
    assert value(text, "kiosk_outbox_paused") == 1
    assert attempts(text, "pause") == 1
    assert sum(attempts(text, o.value) for o in Outcome) == 1
    assert items(text)["queued"] == 1


def test_a_turn_that_raises_is_counted_as_an_error_and_still_raises(node, db, monkeypatch):
    queue_applications(node, 1)

    def locked(*args, **kwargs):
        raise outbox_error

    outbox_error = RuntimeError("database is locked")
    monkeypatch.setattr(outbox, "claim", locked)
    with pytest.raises(RuntimeError):
        Forwarder(node).step(db)
    assert attempts(scrape(node), "error") == 1


def test_a_broken_metric_never_stops_a_delivery_or_a_page(node, db, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(metrics.NodeMetrics, "attempt", broken)
    monkeypatch.setattr(metrics.NodeMetrics, "page", broken)
    queue_applications(node, 1)
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED
    assert node.test_client().get("/").status_code == 200


def test_page_times_are_observed_by_endpoint_never_by_url(node):
    client = node.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    steps = answers_for("individual")
    for slug, data in steps:
        assert post_step(client, f"/apply/{slug}", data).status_code == 302
    assert client.get("/apply/no-such-step-7K3M9QXT").status_code == 404
    assert client.get("/no/such/page/880215300125").status_code == 404
    assert client.open("/", method="BREW").status_code == 405
    text = scrape(node)
    count = "kiosk_http_request_duration_seconds_count"
    # Each question page: one GET for its form, one POST of the answers; the unknown
    # step matched the same route and is counted under its endpoint, with its 404.
    assert value(text, count, endpoint="journey.question", method="GET") == len(steps) + 1
    assert value(text, count, endpoint="journey.question", method="POST") == len(steps)
    assert (
        value(
            text,
            "kiosk_http_request_duration_seconds_sum",
            endpoint="journey.question",
            method="POST",
        )
        > 0
    )
    responses = "kiosk_http_responses_total"
    assert value(text, responses, endpoint="journey.question", method="POST", status="302") == len(
        steps
    )
    assert value(text, responses, endpoint="journey.question", method="GET", status="404") == 1
    assert value(text, responses, endpoint="unmatched", method="GET", status="404") == 1
    assert value(text, responses, endpoint="unmatched", method="other", status="405") == 1
    for piece in ("7K3M9QXT", "880215300125", "no-such-step", "/apply/", "BREW"):
        assert piece not in text


def test_the_heartbeat_age_and_whether_the_forwarder_is_alive(node):
    instance = Path(node.config["INSTANCE"])
    text = scrape(node)
    assert value(text, "kiosk_forwarder_alive") == 0  # no forwarder ever ran
    assert value(text, "kiosk_forwarder_heartbeat_age_seconds") is None

    heartbeat.beat(instance, 600)
    text = scrape(node)
    assert value(text, "kiosk_forwarder_alive") == 1
    assert 0 <= value(text, "kiosk_forwarder_heartbeat_age_seconds") < 600

    then = datetime.now(UTC) - timedelta(hours=2)
    stale = {"at": then.isoformat(), "due_by": (then + timedelta(minutes=5)).isoformat()}
    (instance / heartbeat.FILENAME).write_text(json.dumps(stale))
    text = scrape(node)
    assert value(text, "kiosk_forwarder_alive") == 0
    assert value(text, "kiosk_forwarder_heartbeat_age_seconds") >= 2 * 3600


def test_an_unreadable_database_is_said_and_the_scrape_still_answers(node, monkeypatch):
    import sqlite3

    def unreadable(db):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(outbox, "summary", unreadable)
    text = scrape(node)
    assert value(text, "kiosk_database_up") == 0
    assert value(text, "kiosk_outbox_items", state="queued") is None


def test_the_forwarder_in_its_own_process_is_counted_by_the_web_server(tmp_path, registry):
    """`flask queue work` beside `python run.py`, both with PROMETHEUS_MULTIPROC_DIR."""
    registry_app, url = registry
    instance = tmp_path / "node"
    node = make_node(instance, registry_app, url)
    queue_applications(node, 2)
    folder = str(instance / "metrics")
    web = Server(instance, PROMETHEUS_MULTIPROC_DIR=folder, KIOSK_NODE_ID="node-test").start()
    env = {**forwarder_env(instance, node.config, url), "PROMETHEUS_MULTIPROC_DIR": folder}
    worker = start_process(FORWARDER, env)
    try:
        db = connect(node.config["DATABASE"])
        try:
            deadline = time.monotonic() + 120  # a generous wait for a loaded machine, not a limit
            while outbox.count(db, outbox.DELIVERED) < 2:
                assert time.monotonic() < deadline, outbox.summary(db)
                assert worker.poll() is None, "the forwarder ended"
                time.sleep(0.1)
        finally:
            db.close()
        with urllib.request.urlopen(web.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
        web.kill()
    # The attempts were counted in the forwarder's process, the pages in the web server's.
    assert attempts(text, "delivered") == 2 and timed_attempts(text, "delivered") == 2
    assert items(text)["delivered"] == 2
    assert value(text, "kiosk_forwarder_alive") == 1
    assert (
        value(
            text,
            "kiosk_http_responses_total",
            endpoint="health.healthz",
            method="GET",
            status="200",
        )
        >= 1
    )
    assert sorted(p.name.split("_")[0] for p in Path(folder).glob("*.db")) == [
        "counter",
        "counter",
        "histogram",
        "histogram",
    ]


# Who may read it -----------------------------------------------------------------------------


@pytest.fixture
def app(make_app):
    return make_app(FORWARDER=False)


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def refused(app, **kwargs) -> bool:
    """The answer is the node's ordinary 404 page (what an unknown step gets), no metric in it."""
    response = app.test_client().get("/metrics", **kwargs)
    unknown = app.test_client().get("/apply/no-such-step")
    assert unknown.status_code == 404
    return (
        response.status_code == 404
        and "kiosk_" not in response.text
        and main_of(response.text) == main_of(unknown.text)
    )


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_this_host_may_read_the_metrics(app, address):
    text = scrape(app, environ_base={"REMOTE_ADDR": address})
    assert value(text, "kiosk_outbox_items", state="queued") == 0


@pytest.mark.parametrize("address", ["203.0.113.7", "10.0.0.5", "192.168.1.20", "::2", ""])
def test_another_address_gets_the_ordinary_404(app, address):
    assert refused(app, environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "203.0.113.7"},
        {"X-Forwarded-For": "127.0.0.1"},  # the client of the proxy is on this host: still refused
        {"Forwarded": "for=203.0.113.7"},
        {"X-Real-IP": "203.0.113.7"},
        {"X-Forwarded-Proto": "https"},
        {"Via": "1.1 proxy"},
    ],
)
def test_a_request_that_came_through_a_proxy_on_this_host_is_refused(app, header):
    assert refused(app, headers=header)


def test_through_the_deployed_nginx_it_is_refused_and_directly_it_is_not(web_node):
    app, front = web_node
    request = urllib.request.Request(front.url + "/metrics")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, context=front.ssl_context(), timeout=10)
    assert error.value.code == 404
    assert b"kiosk_" not in error.value.read()
    # The node behind it (KIOSK_TRUSTED_PROXY=127.0.0.1) answers this host itself.
    with urllib.request.urlopen(front.upstream + "/metrics", timeout=10) as response:
        assert b"kiosk_outbox_items" in response.read()
    # And refuses what nginx would pass it for any client, this host's included.
    for client in ("203.0.113.7", "127.0.0.1"):
        forwarded = urllib.request.Request(
            front.upstream + "/metrics", headers={"X-Forwarded-For": client}
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(forwarded, timeout=10)
        assert error.value.code == 404


def test_the_right_token_lets_a_scraper_in_from_anywhere(make_app):
    app = make_app(FORWARDER=False, METRICS_TOKEN=TOKEN)
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    for scheme in ("Bearer", "bearer"):
        text = scrape(app, environ_base=remote, headers={"Authorization": f"{scheme} {TOKEN}"})
        assert value(text, "kiosk_outbox_items", state="queued") == 0
    through_proxy = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.7"}
    assert value(scrape(app, headers=through_proxy), "kiosk_database_up") == 1


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN[:-1]}x"
        if TOKEN[-1] != "x"
        else f"Bearer {TOKEN[:-1]}y",  # one character off
        f"Bearer {TOKEN[:-1]}",  # one character short
        f"Bearer {TOKEN}0",  # one too many
        "Bearer ",
        "Bearer",
        "",
        f"Basic {TOKEN}",
        TOKEN,
        f"Bearer {'a' * 60_000}",
        f"Bearer {TOKEN} {TOKEN}",
    ],
    ids=[
        "one off",
        "one short",
        "one too many",
        "bearer and space",
        "bearer alone",
        "empty",
        "basic",
        "no scheme",
        "huge",
        "twice",
    ],
)
def test_a_wrong_empty_or_huge_token_gets_the_ordinary_404(make_app, authorization):
    app = make_app(FORWARDER=False, METRICS_TOKEN=TOKEN)
    assert refused(
        app, environ_base={"REMOTE_ADDR": "203.0.113.7"}, headers={"Authorization": authorization}
    )


def test_without_a_token_set_no_token_opens_it(app):
    for authorization in ("Bearer ", "Bearer", "Bearer x"):
        headers = {"Authorization": authorization}
        assert refused(app, environ_base={"REMOTE_ADDR": "203.0.113.7"}, headers=headers)


@pytest.mark.parametrize("token", ["short", "x" * 31, "a" * 31 + " ", "ключ" * 10, "a" * 1025])
def test_a_weak_or_unprintable_token_stops_the_start(make_app, token):
    with pytest.raises(ConfigError, match="KIOSK_METRICS_TOKEN"):
        make_app(METRICS_TOKEN=token)


def test_the_token_comes_from_the_environment():
    from kiosk.config import from_environment

    assert from_environment({"KIOSK_METRICS_TOKEN": TOKEN})["METRICS_TOKEN"] == TOKEN
    assert from_environment({})["METRICS_TOKEN"] == ""


# No personal data ----------------------------------------------------------------------------


def test_no_applicant_data_in_the_metrics_after_a_real_application(node, db):
    client = node.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for slug, data in answers_for("individual"):
        if slug == "person":
            data = {"full_name": NAME, "iin": IIN}
        if slug == "contact":
            data = {"contact_name": NAME, "phone": PHONE}
        assert post_step(client, f"/apply/{slug}", data).status_code == 302, slug
    assert submit(client).status_code == 303  # to the confirmation
    confirmation = client.get("/apply/confirmation")
    assert confirmation.status_code == 200
    [(reference, submission_id)] = db.execute("SELECT reference, id FROM submissions").fetchall()
    assert Forwarder(node).step(db).outcome is Outcome.DELIVERED
    text = scrape(node)
    assert attempts(text, "delivered") == 1
    secrets_of_the_applicant = [NAME, *NAME.split(), IIN, *PHONE_FORMS, reference, submission_id]
    secrets_of_the_applicant.append(reference.replace("-", ""))
    for secret in secrets_of_the_applicant:
        assert secret not in text, secret
