"""Attacks on a served registry (waitress on a real socket): PostgreSQL stopped under it, and
bodies sent in ways the test client cannot (chunked, no Content-Length, a NUL in the path).

PostgreSQL here is a server of this module's own (tests/postgres.py), never the session's,
since these tests stop it. Tests whose docstring begins "FINDING:" failed when written.
"""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from kiosk.registry import store as registry_store
from kiosk.registry.database import close_pools
from kiosk.registry.database import get_db as registry_db
from tests.forwarding import make_registry, serve_in_thread

GIB = 1024**3


def report() -> dict:
    now = datetime.now(UTC)
    return {
        "report": 1,
        "app_version": "0.1.0",
        "clock": now.isoformat(),
        "kiosk_id": "kiosk-07",
        "centre": "Centre 3",
        "region": "KZ-75",
        "outbox": {"queued": 0, "sending": 0, "waiting": 0, "delivered": 1, "dead": 0},
        "oldest_waiting_seconds": None,
        "last_delivery_at": (now - timedelta(hours=1)).isoformat(),
        "dead_reasons": [],
        "disk_free_bytes": 50 * GIB,
    }


def request(url: str, method: str, path: str, body: bytes | None, headers: dict):
    """(status, headers, body) over a real connection; chunked when body is a list."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        if isinstance(body, list):
            conn.putrequest(method, path)
            for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
                conn.putheader(name, value)
            conn.endheaders()
            for chunk in body:
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def own_postgres():
    from tests.postgres import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture
def served(tmp_path, own_postgres):
    url = own_postgres.create_database()
    registry = make_registry(tmp_path / "registry", DATABASE_URL=url)
    with registry.app_context():
        token = registry_store.add_node(registry_db(), "node-a", "not used here")
    base, server = serve_in_thread(registry)
    yield base, token, own_postgres
    server.close()
    close_pools()
    if not _up(own_postgres):
        own_postgres.start()
    own_postgres.drop_database(url)


def _up(server) -> bool:
    import psycopg

    try:
        psycopg.connect(server.url(), connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


def post_report(base: str, token: str):
    return request(
        base,
        "POST",
        "/api/v1/nodes/report",
        json.dumps(report()).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def _refused_while_down(base: str, token: str) -> None:
    """Four requests while PostgreSQL is down: each a 503 in JSON with Retry-After."""
    for method, path in (
        ("POST", "/api/v1/nodes/report"),
        ("GET", "/healthz"),
        ("GET", "/api/v1/saved/" + "ab" * 32),
        ("PUT", "/api/v1/saved/" + "ab" * 32 + "/claim"),
    ):
        body = json.dumps(report()).encode() if method == "POST" else b'{"claim": "x"}'
        status, headers, data = request(
            base,
            method,
            path,
            body if method != "GET" else None,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert status == 503, (path, status, data[:300])
        assert headers.get("Content-Type", "").startswith("application/json"), data[:300]
        assert "error" in json.loads(data)
        assert headers.get("Retry-After", "").isdigit()


def test_while_postgresql_is_down_every_request_is_a_503_in_json_with_retry_after(
    served, monkeypatch
):
    monkeypatch.setenv("REGISTRY_POOL_TIMEOUT", "1")  # each refusal after 1 s, not 5:
    close_pools()  # the fixture's pool was made with 5; the next request makes one with 1
    base, token, server = served
    assert post_report(base, token)[0] == 200
    server.stop("fast")  # a clean stop; the next test stops it sharply
    _refused_while_down(base, token)
    status, _headers, data = request(base, "GET", "/metrics", None, {})
    assert status == 200 and b"registry_database_up 0.0" in data  # the scrape still answers


def test_the_first_request_once_postgresql_is_back_succeeds(served):
    """After an outage of some 20 s (the four refused requests take 5 s each), the first
    request once PostgreSQL is back succeeds. It did not: the pool (psycopg_pool) reconnects
    in the background with an exponential backoff (1, 2, 4, 8, 16 s …) and a request only
    waited for it, so the registry stayed at 503 for about as long again (fixed: a request
    whose pool wait runs out connects once directly). Stopped sharply: a crash."""
    base, token, server = served
    assert post_report(base, token)[0] == 200
    server.stop("immediate")
    _refused_while_down(base, token)
    server.start()
    server.wait_until_up()
    status, _headers, data = post_report(base, token)
    assert status == 200, data[:300]
    status, _headers, data = request(base, "GET", "/metrics", None, {})
    assert status == 200 and b"registry_database_up 1.0" in data


def test_a_chunked_report_past_64_kb_without_a_content_length_is_a_json_413(served):
    base, token, _server = served
    body = json.dumps({**report(), "centre": "x" * 200_000}).encode()
    status, headers, data = request(
        base,
        "POST",
        "/api/v1/nodes/report",
        [body[index : index + 8192] for index in range(0, len(body), 8192)],
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 413, (status, data[:300])
    assert headers.get("Content-Type", "").startswith("application/json")


def test_a_nul_in_an_upload_id_over_the_wire_is_a_4xx_not_a_500(served):
    """FINDING: as in tests/web/test_registry_attack.py, through waitress: HEAD
    /api/v1/files/%00 reaches PostgreSQL, which cannot hold NUL in text: 500 at a86f497;
    passes with database._checked (BadText), uncommitted when this was written."""
    base, token, _server = served
    status, _headers, data = request(
        base,
        "HEAD",
        "/api/v1/files/%00",
        None,
        {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"},
    )
    assert 400 <= status < 500, status
