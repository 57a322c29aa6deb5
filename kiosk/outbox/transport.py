"""What every request to the registry shares: where it is, the backoff, no redirects.

Kept apart from the forwarder so that `kiosk.deposits` (which the forwarder calls)
can use the same pieces without importing the forwarder back.
"""

from __future__ import annotations

import random
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


opener = urllib.request.build_opener(_NoRedirects())


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
