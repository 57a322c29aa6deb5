"""The registry's node reports: POST /api/v1/nodes/report, the overview's flags, and
`flask registry nodes`, on both backends.

Every refusal is checked for its status, for naming the field, and for not quoting
the value it refused; and for keeping nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from kiosk.registry import reports_api, reports_store
from kiosk.registry import store as registry_store
from kiosk.registry.cli import registry_cli
from kiosk.registry.database import get_db as registry_db
from tests.forwarding import make_registry, registry_env

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs/openapi.json").read_text())
GIB = 1024**3
REASON = 'HTTP 422: {"error": "applicant: breaks oneOf"}'


@pytest.fixture
def registry(tmp_path, registry_backend):
    return make_registry(tmp_path / "registry", **registry_backend)


def add_node(registry, node_id: str = "node-a") -> str:
    with registry.app_context():
        return registry_store.add_node(registry_db(), node_id, "not used by reports")


def disable(registry, node_id: str) -> None:
    with registry.app_context():
        registry_db().execute("UPDATE nodes SET disabled = 1 WHERE node_id = ?", [node_id])


def kept(registry) -> list[dict]:
    with registry.app_context():
        return list(registry_db().rows("SELECT * FROM node_reports ORDER BY node_id"))


def good(now: datetime | None = None, **changes) -> dict:
    """A report as a healthy kiosk sends it."""
    now = now or datetime.now(UTC)
    return {
        "report": 1,
        "app_version": "0.1.0",
        "clock": now.isoformat(),
        "kiosk_id": "kiosk-07",
        "centre": "Әлеуметтік қызмет орталығы №3",
        "region": "KZ-75",
        "outbox": {"queued": 2, "sending": 0, "waiting": 1, "delivered": 40, "dead": 0},
        "oldest_waiting_seconds": 600,
        "last_delivery_at": (now - timedelta(hours=1)).isoformat(),
        "dead_reasons": [],
        "disk_free_bytes": 50 * GIB,
        **changes,
    }


def post(registry, body, token: str | None = None, **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return registry.test_client().post(
        "/api/v1/nodes/report", data=data, headers={"Content-Type": "application/json", **headers}
    )


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    return response.json["error"]


# Taken ---------------------------------------------------------------------------------


def test_a_report_is_kept_as_the_nodes_latest_with_the_registrys_time(registry):
    token = add_node(registry)
    before = datetime.now(UTC)
    answer = post(registry, good(), token)
    assert answer.status_code == 200
    assert answer.json["node_id"] == "node-a" and answer.json["status"] == "recorded"
    [row] = kept(registry)
    received = datetime.fromisoformat(row["received_at"])
    assert before <= received <= datetime.now(UTC)
    assert datetime.fromisoformat(answer.json["received_at"]) == received.replace(microsecond=0)

    with registry.app_context():
        [status] = reports_store.overview(registry_db(), datetime.now(UTC))
    assert status.node_id == "node-a" and status.flags == []
    assert status.report.outbox == good()["outbox"]
    assert status.report.centre == "Әлеуметтік қызмет орталығы №3"
    assert status.report.region == "KZ-75" and status.report.oldest_waiting_seconds == 600


def test_a_later_report_replaces_the_earlier_and_each_node_has_its_own(registry):
    first, second = add_node(registry, "node-a"), add_node(registry, "node-b")
    assert post(registry, good(), first).status_code == 200
    later = good(outbox={"queued": 0, "sending": 0, "waiting": 0, "delivered": 43, "dead": 0})
    assert post(registry, later, first).status_code == 200
    assert post(registry, good(kiosk_id=None, centre=None, region=None), second).status_code == 200
    rows = kept(registry)
    assert [row["node_id"] for row in rows] == ["node-a", "node-b"]
    assert json.loads(rows[0]["report"])["outbox"]["delivered"] == 43
    assert json.loads(rows[1]["report"])["region"] is None


def test_markup_in_a_centre_is_kept_as_text(registry):
    """Not refused: the overview's readers print it as text (a page escapes it)."""
    token = add_node(registry)
    centre = "<b>Центр</b> & «Қамқор»"
    assert post(registry, good(centre=centre), token).status_code == 200
    assert json.loads(kept(registry)[0]["report"])["centre"] == centre


# Who may report ------------------------------------------------------------------------


def test_no_token_an_unknown_or_forged_one_is_401_and_a_disabled_node_403(registry):
    token = add_node(registry)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert "bearer" in error_of(post(registry, good()), 401)
    assert error_of(post(registry, good(), "not-a-token-of-any-node"), 401) == "unknown token"
    assert error_of(post(registry, good(), forged), 401) == "unknown token"
    assert error_of(post(registry, good(), "x" * len(token)), 401) == "unknown token"
    disable(registry, "node-a")
    assert "disabled" in error_of(post(registry, good(), token), 403)
    assert "disabled" in error_of(post(registry, b"not json", token), 403)  # before the body
    assert kept(registry) == []


# Refused: the body ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"a report"',
        b"\xff\xfe{}",
        b'{"report": 1, "report": 1}',
        b'{"report": NaN}',
        b"[" * 20_000 + b"]" * 20_000,
    ],
    ids=["empty", "text", "list", "string", "utf16", "repeated key", "nan", "deep"],
)
def test_a_body_that_is_not_one_json_object_is_400(registry, body):
    token = add_node(registry)
    assert "JSON object" in error_of(post(registry, body, token), 400)
    assert kept(registry) == []


def test_a_body_over_64_kb_is_413(registry):
    token = add_node(registry)
    body = good(centre="ц" * 70_000)
    assert "64 KB" in error_of(post(registry, body, token), 413)
    assert kept(registry) == []


def test_an_unknown_key_is_refused_without_being_named(registry):
    token = add_node(registry)
    error = error_of(post(registry, good(iin="880215300125"), token), 422)
    assert "has keys other than" in error
    assert "iin" not in error and "880215300125" not in error
    assert kept(registry) == []


@pytest.mark.parametrize("field", sorted(reports_api.REPORT_KEYS))
def test_every_field_is_required(registry, field):
    token = add_node(registry)
    body = good()
    del body[field]
    assert error_of(post(registry, body, token), 422) == f"{field}: missing"
    assert kept(registry) == []


NOW = datetime.now(UTC)
HOSTILE = ["a\u0000b", "\u202eevil", "line\nbreak", "zero\u200bwidth", "sep\u2028", "\ud800"]
BAD = {
    "report": [0, 2, "1", 1.0, True, None, [1]],
    "app_version": ["", " 0.1.0", "0.1.0 beta", "v" * 41, "<script>", 1, None, *HOSTILE],
    "clock": [
        "",
        "now",
        "2027-03-01",
        NOW.replace(tzinfo=None).isoformat(),  # no offset
        NOW.astimezone(timezone(timedelta(hours=5))).isoformat(),  # Almaty: not UTC
        (NOW + timedelta(days=400)).isoformat(),
        (NOW - timedelta(days=400)).isoformat(),
        "0001-01-01T00:00:00+00:00",
        "２０２７-03-01T00:00:00+00:00",
        NOW.isoformat() + " " * 40,
        1_700_000_000,
        None,
    ],
    "kiosk_id": ["", " kiosk", "k" * 101, 7, ["kiosk-7"], *HOSTILE],
    "centre": ["", "centre ", "ц" * 201, 3, {"name": "c"}, True, *HOSTILE],
    "region": ["", "KZ-00", "kz-75", "KZ-19 ", "Алматы", 75, ["KZ-19"]],
    "outbox": [
        None,
        [],
        {},
        {"queued": 1},
        {"queued": 0, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0, "lost": 0},
        {"queued": -1, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0},
        {"queued": 10_000_001, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0},
        {"queued": "3", "sending": 0, "waiting": 0, "delivered": 0, "dead": 0},
        {"queued": 1.5, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0},
        {"queued": True, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0},
    ],
    "oldest_waiting_seconds": [-1, 1.5, "600", True, 10**30, reports_api.MAX_AGE_SECONDS + 1],
    "last_delivery_at": [
        "",
        0,
        "yesterday",
        NOW.replace(tzinfo=None).isoformat(),
        (NOW + timedelta(days=400)).isoformat(),
        (NOW - timedelta(days=11 * 366)).isoformat(),
    ],
    "dead_reasons": [
        None,
        {},
        "HTTP 422",
        [1],
        [{"reason": "x"}],
        [{"reason": "x", "count": 1, "submission_id": "s"}],
        [{"reason": "x", "count": 0}],
        [{"reason": "x", "count": -1}],
        [{"reason": "x", "count": True}],
        [{"reason": "x", "count": 10_000_001}],
        [{"reason": "", "count": 1}],
        [{"reason": "r" * 301, "count": 1}],
        [{"reason": 422, "count": 1}],
        [{"reason": f"reason {n}", "count": 1} for n in range(21)],
        *[[{"reason": text, "count": 1}] for text in HOSTILE],
    ],
    "disk_free_bytes": [-1, 10**15 + 1, 1.0, "1", None, True],
}
CASES = [(field, value) for field, values in BAD.items() for value in values]


@pytest.mark.parametrize(
    ("field", "value"), CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)]
)
def test_a_bad_value_in_any_field_is_422_naming_the_field_never_the_value(registry, field, value):
    token = add_node(registry)
    error = error_of(post(registry, good(**{field: value}), token), 422)
    assert error.startswith(f"{field}: ")
    for text in _texts(value):
        assert text not in error
    assert kept(registry) == []


def _texts(value) -> list[str]:
    """The strings in a refused value long enough to tell apart from a rule's words."""
    if isinstance(value, str):
        return [value] if len(value.strip()) > 4 and value not in ("null",) else []
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    return []


def test_the_edges_of_every_bound_are_taken(registry):
    token = add_node(registry)
    most = {state: 10_000_000 for state in reports_store.OUTBOX_STATES}
    edge = good(
        app_version="v" * 40,
        clock=(datetime.now(UTC) + timedelta(days=365)).isoformat().replace("+00:00", "Z"),
        kiosk_id="k" * 100,
        centre="ц" * 200,
        outbox=most,
        oldest_waiting_seconds=reports_api.MAX_AGE_SECONDS,
        last_delivery_at=None,
        dead_reasons=[{"reason": f"{n} " + "r" * 290, "count": 10_000_000} for n in range(20)],
        disk_free_bytes=10**15,
    )
    assert post(registry, edge, token).status_code == 200
    zero = good(
        outbox=dict.fromkeys(reports_store.OUTBOX_STATES, 0),
        oldest_waiting_seconds=0,
        disk_free_bytes=0,
    )
    assert post(registry, zero, token).status_code == 200


# Flags ---------------------------------------------------------------------------------


def record(registry, node_id: str, received_at: datetime, **changes) -> None:
    with registry.app_context():
        registry_store.add_node(registry_db(), node_id, "k")
        reports_store.record(registry_db(), node_id, good(received_at, **changes), received_at)


def flags(registry, now: datetime) -> dict[str, list[str]]:
    with registry.app_context():
        return {s.node_id: s.flags for s in reports_store.overview(registry_db(), now)}


def test_each_flag_is_raised_past_its_line_and_not_on_it(registry):
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    day = timedelta(hours=24)
    record(registry, "healthy", now)
    record(registry, "silent", now - day - timedelta(seconds=1))
    record(registry, "silent-not-yet", now - day)
    record(registry, "waiting", now, oldest_waiting_seconds=86_401)
    record(registry, "waiting-not-yet", now, oldest_waiting_seconds=86_400)
    dead_outbox = {**good()["outbox"], "dead": 1}
    record(registry, "dead", now, outbox=dead_outbox, dead_reasons=[{"reason": "x", "count": 1}])
    record(registry, "clock-ahead", now, clock=(now + timedelta(seconds=301)).isoformat())
    record(registry, "clock-behind", now, clock=(now - timedelta(seconds=301)).isoformat())
    record(registry, "clock-near", now, clock=(now + timedelta(seconds=300)).isoformat())
    record(registry, "disk", now, disk_free_bytes=GIB - 1)
    record(registry, "disk-enough", now, disk_free_bytes=GIB)
    with registry.app_context():
        registry_store.add_node(registry_db(), "never", "k")
    assert flags(registry, now) == {
        "clock-ahead": ["clock"],
        "clock-behind": ["clock"],
        "clock-near": [],
        "dead": ["dead"],
        "disk": ["disk"],
        "disk-enough": [],
        "healthy": [],
        "never": ["silent"],
        "silent": ["silent"],
        "silent-not-yet": [],
        "waiting": ["waiting"],
        "waiting-not-yet": [],
    }


def test_flags_come_together_in_their_order_and_a_disabled_node_has_none(registry):
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    then = now - timedelta(days=3)
    everything = {
        "outbox": {**good()["outbox"], "dead": 2},
        "oldest_waiting_seconds": 90_000,
        "clock": (then + timedelta(hours=1)).isoformat(),
        "disk_free_bytes": 10,
    }
    record(registry, "node-bad", then, **everything)
    record(registry, "node-off", then, **everything)
    disable(registry, "node-off")
    assert flags(registry, now) == {
        "node-bad": ["silent", "waiting", "dead", "clock", "disk"],
        "node-off": [],
    }
    with registry.app_context():
        statuses = reports_store.overview(registry_db(), now)
    assert [s.disabled for s in statuses] == [False, True]
    assert statuses[0].report.clock_skew_seconds == 3600
    assert statuses[0].report.dead == 2


# The command ---------------------------------------------------------------------------


def nodes(registry, *arguments: str):
    result = CliRunner().invoke(registry_cli, ["nodes", *arguments], env=registry_env(registry))
    assert result.exit_code == 0, result.output
    return result.output


def line_of(output: str, node_id: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith(node_id + " ")]
    return line


def test_flask_registry_nodes_prints_every_node_its_values_and_flags(registry):
    now = datetime.now(UTC)
    record(registry, "node-ok", now - timedelta(minutes=3))
    reasons = [{"reason": REASON, "count": 2}]
    record(
        registry,
        "node-bad",
        now,
        outbox={**good()["outbox"], "dead": 2},
        dead_reasons=reasons,
        clock=(now + timedelta(minutes=7)).isoformat(),
        disk_free_bytes=300 * 1024**2,
    )
    with registry.app_context():
        registry_store.add_node(registry_db(), "node-new", "k")
    output = nodes(registry)

    header = output.splitlines()[0].split()
    assert header[:4] == ["NODE", "KIOSK", "CENTRE", "REGION"] and header[-1] == "FLAGS"
    ok = line_of(output, "node-ok")
    for value in ("kiosk-07", "KZ-75", "0.1.0", "3 min ago", "40", "10 min", "50.0 GiB"):
        assert value in ok
    assert ok.endswith(" -")
    bad = line_of(output, "node-bad")
    assert "+7 min" in bad and "300.0 MiB" in bad and bad.endswith("dead,clock,disk")
    assert f"    dead 2: {REASON}" in output.splitlines()
    new = line_of(output, "node-new")
    assert "never" in new and new.endswith("silent")
    assert "clock: the node's clock is more than 5 minutes off" in output

    flagged = nodes(registry, "--flagged")
    assert "node-ok" not in flagged
    assert line_of(flagged, "node-bad") and line_of(flagged, "node-new")


def test_flask_registry_nodes_with_no_nodes_or_none_flagged_says_so(registry):
    assert nodes(registry).strip() == "No nodes are registered."
    record(registry, "node-ok", datetime.now(UTC))
    assert nodes(registry, "--flagged").strip() == "No node has a flag."
    assert "node-ok" in nodes(registry)


# The document --------------------------------------------------------------------------


def test_the_openapi_document_describes_the_report_as_built():
    operation = OPENAPI["paths"]["/api/v1/nodes/report"]["post"]
    assert {"200", "400", "401", "403", "413", "422"} <= operation["responses"].keys()
    schema = OPENAPI["components"]["schemas"]["NodeReport"]
    assert set(schema["required"]) == reports_api.REPORT_KEYS == schema["properties"].keys()
    assert schema["additionalProperties"] is False
    validator = Draft202012Validator(schema)
    assert not list(validator.iter_errors(good()))
    assert not list(validator.iter_errors(good(kiosk_id=None, centre=None, region=None)))
    for field, value in [
        ("report", 2),
        ("outbox", {"queued": -1, "sending": 0, "waiting": 0, "delivered": 0, "dead": 0}),
        ("disk_free_bytes", 10**15 + 1),
        ("region", "KZ-00"),
        ("kiosk_id", ""),
        ("dead_reasons", [{"reason": "x", "count": 0}]),
        ("oldest_waiting_seconds", -1),
    ]:
        assert list(validator.iter_errors(good(**{field: value}))), field
