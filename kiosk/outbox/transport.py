"""What every request to the registry shares: where it is, the backoff, no redirects.

Kept apart from the forwarder so that `kiosk.deposits` (which the forwarder calls)
can use the same pieces without importing the forwarder back.
"""

from __future__ import annotations

import http.client
import random
import ssl
import urllib.request
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask


def full_jitter(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before try number `attempt` + 1: random(0, min(cap, base × 2^(n-1)))."""
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is never the registry's answer (captive portals redirect): retry later.

    Refusing to follow makes urllib raise the 3xx as an HTTPError, which every
    caller treats as passing trouble.
    """

    def redirect_request(self, *args, **kwargs):
        return None


class _RegistryTLS(urllib.request.HTTPSHandler):
    """HTTPS to the registry: the system's certificate authorities, and KIOSK_REGISTRY_CA too.

    A registry whose certificate comes from an authority the system does not know (a
    national one, such as Kazakhstan's NCA) is trusted through that one file, without
    replacing the system's list for everything else the node connects to.
    """

    def __init__(self) -> None:
        super().__init__()
        self.context = ssl.create_default_context()

    def trust(self, ca_file: str) -> None:
        """The system's authorities, and this PEM file's when given; OSError or ssl.SSLError
        when it cannot be read."""
        context = ssl.create_default_context()
        if ca_file:
            context.load_verify_locations(cafile=ca_file)
        self.context = context

    def https_open(self, req):
        return self.do_open(http.client.HTTPSConnection, req, context=self.context)


_tls = _RegistryTLS()
opener = urllib.request.build_opener(_NoRedirects(), _tls)


def trust(ca_file: str) -> None:
    """KIOSK_REGISTRY_CA: whom to trust for the registry from now on (empty: the system's
    authorities alone). One node runs per process: the node's start sets it (node.load)."""
    _tls.trust(ca_file)


@dataclass(frozen=True)
class Registry:
    """Where to deliver, and whose signed receipt to believe."""

    url: str
    token: str
    node_id: str
    receipt_key: Ed25519PublicKey | None


def registry_of(app: Flask) -> Registry:
    """The registry as this app's settings and identity name it now (tests change them)."""
    node = app.extensions["node"]
    return Registry(
        app.config["REGISTRY_URL"], app.config["REGISTRY_TOKEN"], node.node_id, node.receipt_key
    )
