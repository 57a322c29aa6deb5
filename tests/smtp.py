"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it receives.

The app talks to it with smtplib exactly as it would to a relay, so the tests see the
bytes a relay would see: headers as encoded, the body as transferred, the envelope.

    with smtp_server() as sink:          # or the fixture `smtp_sink`
        ...send to sink.host, sink.port...
        sink.messages[0]["Subject"]      # email.message.EmailMessage, as received
        sink.raw[0]                      # its bytes, as transferred

`sink.refuse("550 5.1.1 No such mailbox", at="RCPT")` makes it answer a stage with an
error; `smtp_server(tls=True)` offers STARTTLS (and requires it) with the test run's
self-signed certificate for 127.0.0.1 (tests/nginx.py), whose file is `sink.cert`.
"""

from __future__ import annotations

import email
import email.policy
import logging
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.nginx import LOCALHOST, make_certificate

STAGES = ("MAIL", "RCPT", "DATA")


@dataclass
class Sink:
    """A running server: where it listens and what it has been sent."""

    host: str
    port: int
    cert: Path | None = None  # the certificate it shows on STARTTLS, if it offers it
    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message's bytes, as transferred
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)  # (MAIL FROM, RCPT TO)
    over_tls: list[bool] = field(default_factory=list)  # per message: sent after STARTTLS?
    refusals: dict[str, str] = field(default_factory=dict)  # stage -> reply

    def refuse(self, reply: str, at: str = "RCPT") -> None:
        """Answer `at` (MAIL, RCPT or DATA) with `reply`, e.g. "550 5.1.1 No such mailbox"
        or "421 4.3.2 Shutting down" (after which smtplib closes the connection)."""
        assert at in STAGES and reply[:1] in "45", (at, reply)
        self.refusals[at] = reply


class _Handler:
    """aiosmtpd's hooks: accept or refuse each stage, and keep each message as received."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if "MAIL" in self.sink.refusals:
            return self.sink.refusals["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "RCPT" in self.sink.refusals:
            return self.sink.refusals["RCPT"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if "DATA" in self.sink.refusals:
            return self.sink.refusals["DATA"]
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.over_tls.append(session.ssl is not None)
        self.sink.raw.append(envelope.original_content)
        self.sink.messages.append(message)
        return "250 OK: kept"


class _AnyPort(Controller):
    """aiosmtpd's threaded server on port 0: the port the system chose is read back before
    the controller's first connection, so there is no race for a "free" port."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def _server_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    cert, key = make_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, cert


@contextmanager
def smtp_server(tls: bool = False) -> Iterator[Sink]:
    """An SMTP server on 127.0.0.1 and a port of its own, stopped on leaving.

    With `tls`, it offers STARTTLS and refuses mail before it (530), so a message
    that arrives proves the client encrypted.
    """
    folder = Path(tempfile.mkdtemp(prefix="kiosk-smtp-"))
    sink = Sink(LOCALHOST, 0)
    options: dict = {}
    if tls:
        options["tls_context"], sink.cert = _server_tls(folder)
        options["require_starttls"] = True
    controller = _AnyPort(
        _Handler(sink), hostname=LOCALHOST, port=0, server_hostname="smtp.test", **options
    )
    quiet = logging.getLogger("mail.log")  # aiosmtpd's own log names every sender
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    controller.start()
    try:
        sink.port = controller.port
        yield sink
    finally:
        controller.stop()
        quiet.setLevel(level)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    """A running SMTP sink for this test (see smtp_server)."""
    with smtp_server() as sink:
        yield sink
