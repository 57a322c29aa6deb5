"""Test tools for store and forward: a node and a registry that know each other, and a
scripted TCP proxy that makes the network misbehave on cue."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from waitress.server import create_server

from kiosk import create_app, drafts, envelope, payload, receipt, submissions
from kiosk.registry import create_registry_app
from kiosk.registry import store as registry_store
from kiosk.registry.database import get_db as registry_db
from tests.helpers import answers_for

FAST = {"BACKOFF_BASE": 0.01, "BACKOFF_CAP": 0.05, "SEND_TIMEOUT": 0.5, "LEASE_SECONDS": 5}


def serve_in_thread(app):
    """Serve a WSGI app on 127.0.0.1:<free port>; returns (url, server)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def make_registry(folder: Path, **config):
    """A registry app with its keys made: one to decrypt with, one to sign receipts.

    On SQLite in `folder` unless `config` names a DATABASE_URL (the registry_backend
    fixture gives one for PostgreSQL).
    """
    app = create_registry_app(
        {
            "INSTANCE": folder,
            "DATABASE": str(folder / "registry.sqlite3"),
            "DATABASE_URL": "",
            "PRIVATE_KEY": folder / "registry_key",
            "RECEIPT_KEY": folder / "receipt_key",
            **config,
        }
    )
    envelope.write_private_key(folder / "registry_key", X25519PrivateKey.generate())
    receipt.private_key(folder / "receipt_key")
    return app


def registry_env(registry_app) -> dict[str, str]:
    """The environment `flask registry …` needs to work on this registry, on either backend."""
    return {
        "REGISTRY_INSTANCE": str(registry_app.config["INSTANCE"]),
        "REGISTRY_DATABASE_URL": registry_app.config["DATABASE_URL"],
    }


def registry_public_key(registry_app) -> str:
    return envelope.public_text(envelope.registry_private_key(registry_app.config["PRIVATE_KEY"]))


def registry_signing_key(registry_app) -> str:
    """KIOSK_REGISTRY_SIGNING_KEY for this registry: the public half of its receipt key."""
    return envelope.public_text(receipt.private_key(registry_app.config["RECEIPT_KEY"]))


def make_node(folder: Path, registry_app, url: str, *, node_id: str = "node-test", **config):
    """A node app registered at the registry, encrypting to its key, trusting its receipts.

    Nodes that share a registry need ids of their own: registering an id again gives
    it a new token, and the earlier node's stops working.
    """
    node = create_app(
        {
            "INSTANCE": folder,
            "DATABASE": str(folder / "kiosk.sqlite3"),
            "SECRET_KEY": "n",
            "NODE_ID": node_id,
            "REGISTRY_URL": url,
            "REGISTRY_PUBLIC_KEY": registry_public_key(registry_app),
            "REGISTRY_SIGNING_KEY": registry_signing_key(registry_app),
            **FAST,
            **config,
        }
    )
    public = envelope.public_text(envelope.node_signing_key(folder / "node_key"))
    with registry_app.app_context():
        token = registry_store.add_node(registry_db(), node_id, public)
    node.config["REGISTRY_TOKEN"] = token
    return node


def flat_answers(applicant_type: str = "ngo") -> dict:
    answers = {}
    for _slug, data in answers_for(applicant_type):
        answers.update(data)
    answers["phone"] = "+77012345678"
    return answers


def queue_applications(node_app, count: int) -> list[str]:
    """Submit `count` complete drafts straight through the submit path; return their ids."""
    ids = []
    with node_app.test_request_context("/"):
        for _ in range(count):
            draft = drafts.create()
            draft.answers = flat_answers()
            drafts.save(draft)
            ids.append(submissions.submit(draft.id, "kk"))
    return ids


def registry_rows(registry_app) -> list[dict]:
    with registry_app.app_context():
        return list(registry_db().rows("SELECT * FROM applications"))


class ScriptedProxy:
    """A TCP proxy in front of the registry; each new connection takes the next behaviour.

    Behaviours: pass, slow, hang, reset, portal (a 200 login page), or an HTTP status
    code such as 500, 429 or 404. With the script used up, connections pass.
    """

    def __init__(self, target_url: str, slow: float = 0.2) -> None:
        self.slow = slow  # seconds a "slow" connection is held back
        host, port = target_url.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.script: deque = deque()
        self.seen: list[str] = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, client: socket.socket) -> None:
        behaviour = self.script.popleft() if self.script else "pass"
        self.seen.append(str(behaviour))
        request = _read_request(client)
        if behaviour == "reset":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if behaviour == "hang":
            time.sleep(1.5)
            return
        if behaviour == "portal":
            page = b"<html><body>Please log in to the Wi-Fi</body></html>"
            client.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                + str(len(page)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + page
            )
            return
        if isinstance(behaviour, int):
            body = b'{"error": "scripted"}'
            client.sendall(
                f"HTTP/1.1 {behaviour} Scripted\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            return
        if behaviour == "slow":
            time.sleep(self.slow)
        with socket.create_connection(self.target) as upstream:
            upstream.sendall(request)
            while chunk := upstream.recv(65536):
                client.sendall(chunk)


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += sock.recv(65536)
    # Ask the upstream to close after answering, so relaying ends with the response.
    head = b"\r\n".join(
        line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")
    )
    return head + b"\r\nConnection: close\r\n\r\n" + body


def valid_application(submission_id: str, name: str = "Әлия") -> dict:
    """A payload that passes the registry's schema, for tests that break one part of it."""
    return {
        "schema": payload.SCHEMA,
        "submission_id": submission_id,
        "reference": "7K3M-9QXT-W",
        "submitted_at": "2027-03-01T09:15:02+00:00",
        "locale": "kk",
        "applicant": {"type": "individual", "full_name": name, "iin": "880215300125"},
        "region": "KZ-75",
        "contact": {"name": name, "phone": "+77012345678", "email": None},
        "project": {
            "title": "Жоба",
            "target_groups": ["disabilities"],
            "other_group": None,
            "problem": "a",
            "activities": "b",
            "results": "c",
            "settlement": "Алматы",
            "started": "2021-03",
            "people_helped_last_year": 1,
            "people_helped_total": 2,
            "funding_source": "sponsors",
        },
    }


@contextmanager
def served(app):
    """Serve a WSGI app on 127.0.0.1:<free port> for the block; yields its URL.

    Unlike `serve_in_thread`, it stops cleanly: waitress polls with poll(), so
    closing the server while its thread waits cannot fail that thread on a closed
    descriptor, and the thread (which looks up every 0.1 s) ends before the block does.
    """
    server = create_server(
        app,
        host="127.0.0.1",
        port=0,
        threads=4,
        asyncore_use_poll=True,
        asyncore_loop_timeout=0.1,
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(2)
