"""The registry as README deploys it: gunicorn on PostgreSQL, behind nginx over HTTPS with
deploy/nginx-registry.conf, and a node delivering to its public address.

The node's site (deploy/nginx.conf) takes bodies of 1 MB; the registry's takes the 4 MB of
its largest tus chunk and keeps /metrics to the host. A node that trusts the registry's
certificate (KIOSK_REGISTRY_CA, as for a registry whose authority the system does not know,
such as Kazakhstan's NCA) delivers an application with files in chunks through it and holds
the signed receipt; one that does not keeps it.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from kiosk import outbox
from kiosk.db import connect
from kiosk.outbox.forwarder import Forwarder, Outcome
from kiosk.registry import database
from tests import documents_samples as samples
from tests.forwarding import make_node, make_registry, queue_applications, registry_rows
from tests.nginx import REGISTRY_SITE, Nginx, nginx, ssl_context
from tests.registry_load import GunicornRegistry
from tests.system.test_files_delivery import drain, held, submit_with


@contextmanager
def deployed(tmp_path, postgres) -> Iterator[tuple[object, GunicornRegistry, Nginx]]:
    """(the registry's app, for its keys and rows; gunicorn; nginx in front of it)."""
    url = postgres.create_schema(postgres.shared)
    registry = make_registry(tmp_path / "registry", DATABASE_URL=url)
    served = GunicornRegistry(tmp_path / "registry", url, workers=2)
    served.env["REGISTRY_TRUSTED_PROXY"] = "127.0.0.1"
    served.start()
    try:
        with nginx(f"http://127.0.0.1:{served.port}", site=REGISTRY_SITE) as front:
            yield registry, served, front
    finally:
        served.stop()
        database.close_pools()
        postgres.drop_schema(url)


def _request(base: str, method: str, path: str, body: bytes | None = None, **headers):
    """(status, headers, body) from `base`, over TLS trusting the tests' certificate."""
    parts = urlsplit(base)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, context=ssl_context(), timeout=30
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        conn.close()


def test_a_node_delivers_files_in_chunks_through_the_registrys_nginx(tmp_path, postgres):
    with deployed(tmp_path, postgres) as (registry, _served, front):
        node = make_node(
            tmp_path / "node",
            registry,
            front.url,
            DOCUMENTS=True,
            SEND_TIMEOUT=10,
            REGISTRY_CA=str(front.cert),  # KIOSK_REGISTRY_CA: an authority the system lacks
        )
        big = samples.big_pdf(1_200_000)  # five chunks of 256 KB: more than the node's site takes
        photo = samples.jpeg(width=900, height=600, exif=True)
        submission_id, cleaned = submit_with(node, big, photo)
        db = connect(node.config["DATABASE"])
        try:
            outcomes = drain(node, db)
        finally:
            db.close()
        log = (front.folder / "access.log").read_text()
        assert outcomes[-1] is Outcome.DELIVERED, (outcomes, log[-2000:])
        assert held(registry, submission_id) == {c.sha256: c.data for c in cleaned}
        [row] = registry_rows(registry)
        assert row["submission_id"] == submission_id
        patches = [line for line in log.splitlines() if '"PATCH /api/v1/files/' in line]
        assert len(patches) >= 6, log  # the big file's five chunks and the photo's, via nginx
        assert all('HTTP/1.1" 204 ' in line for line in patches), patches


def test_the_registrys_site_keeps_metrics_in_redirects_http_and_caps_a_body_at_4_mb(
    tmp_path, postgres
):
    with deployed(tmp_path, postgres) as (_registry, served, front):
        direct = f"http://127.0.0.1:{served.port}"
        assert _request(direct, "GET", "/metrics")[0] == 200  # Prometheus on the host
        status, _headers, body = _request(front.url, "GET", "/metrics")
        assert status == 404 and b"registry_" not in body
        status, headers, _body = _request(front.http_url, "GET", "/api/v1/applications")
        assert status == 301 and headers["Location"].startswith(front.url)
        # A chunk as large as the registry takes reaches it (and is refused there: no upload)...
        chunk = {"Content-Type": "application/offset+octet-stream", "Tus-Resumable": "1.0.0"}
        status, *_ = _request(
            front.url, "PATCH", "/api/v1/files/" + "a" * 32, b"x" * (4 * 1024 * 1024), **chunk
        )
        assert status != 413
        # ...and a larger body stops at nginx, never holding a worker.
        status, *_ = _request(
            front.url, "PATCH", "/api/v1/files/" + "a" * 32, b"x" * (5 * 1024 * 1024), **chunk
        )
        assert status == 413
        assert _request(front.url, "GET", "/healthz")[0] == 200


def test_without_the_registrys_authority_nothing_counts_as_sent(tmp_path, postgres):
    """A node without KIOSK_REGISTRY_CA trusts the system's authorities alone, even after
    another node in the process trusted this one: it keeps the application and tries again."""
    with deployed(tmp_path, postgres) as (registry, _served, front):
        make_node(tmp_path / "trusting", registry, front.url, REGISTRY_CA=str(front.cert))
        node = make_node(tmp_path / "node", registry, front.url, node_id="n-2", SEND_TIMEOUT=10)
        queue_applications(node, 1)
        db = connect(node.config["DATABASE"])
        try:
            result = Forwarder(node).step(db)
            assert result.outcome is Outcome.RETRY and "CERTIFICATE_VERIFY_FAILED" in result.detail
            assert outbox.waiting_count(db) == 1
        finally:
            db.close()
        assert registry_rows(registry) == []
