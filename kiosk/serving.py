"""How waitress serves a node: one set of options for `run.py` and the tests.

A public web node always sits behind nginx (deploy/nginx.conf), which absorbs
slow and idle clients first. Waitress still sets its own limits: its defaults
(100 connections, 120 s before an idle connection is closed, select() that
fails above 1024 descriptors) let 110 sockets that trickle bytes block the
node completely, on a kiosk or behind a proxy that is misconfigured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .documents.uploads import MAX_BODY

# What a browser sends in headers is a few kilobytes; nginx allows 4 × 8 KB.
MAX_REQUEST_HEADER_SIZE = 64 * 1024

# The headers waitress may take from the trusted proxy. X-Forwarded-For gives the
# client's address (request.remote_addr: rate limits and lockouts are per address);
# the others give the scheme, host and port the browser used, so cookies are marked
# Secure and Flask-WTF's HTTPS referrer check compares against the right origin.
PROXY_HEADERS = "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port"


def _body_limit(config: Mapping[str, Any]) -> int:
    """The largest body the app takes: an upload of documents where they are offered."""
    limit = config.get("MAX_CONTENT_LENGTH") or 1024 * 1024
    if config.get("DOCUMENTS"):
        limit = max(limit, MAX_BODY)
    return limit


def waitress_options(config: Mapping[str, Any], ident: str = "kiosk") -> dict[str, Any]:
    """The keyword arguments for `waitress.serve` (or `create_server`) for this node.

    `config` is the app's config: HOST, PORT, THREADS, MAX_CONTENT_LENGTH and
    TRUSTED_PROXY. Behind the proxy exactly one hop is trusted, and any
    forwarding header the proxy did not vouch for is dropped, so a client
    cannot choose its own address by sending X-Forwarded-For.
    """
    options: dict[str, Any] = {
        "host": config["HOST"],
        "port": config["PORT"],
        "threads": config.get("THREADS", 4),
        "ident": ident,
        # Idle and slow connections hold a socket each, not a thread: allow many, and
        # close one that has sent nothing for 30 s (checked every 10 s).
        "connection_limit": 1000,
        "channel_timeout": 30,
        "cleanup_interval": 10,
        # poll(), since select() fails once a descriptor number passes 1024.
        "asyncore_use_poll": True,
        "max_request_header_size": MAX_REQUEST_HEADER_SIZE,
        # A little above what the app accepts, so the app answers with its own 413 page.
        "max_request_body_size": _body_limit(config) + 64 * 1024,
        # Held in memory up to that size, never in a temporary file: an upload's plaintext
        # must not reach the disk (kiosk/documents/uploads.py).
        "inbuf_overflow": _body_limit(config) + 64 * 1024,
    }
    if config.get("TRUSTED_PROXY"):
        options.update(
            trusted_proxy=config["TRUSTED_PROXY"],
            trusted_proxy_headers=PROXY_HEADERS,
            trusted_proxy_count=1,
            clear_untrusted_proxy_headers=True,
        )
    return options
