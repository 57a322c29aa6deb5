"""The registry's key pairs for tests: made once per test run, like a real deployment's.

Nodes in tests encrypt to this registry key and trust receipts signed with this
signing key, so they run as a kiosk or web node must (never in plaintext).
"""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk import envelope

ENCRYPTION_KEY = X25519PrivateKey.generate()
SIGNING_KEY = Ed25519PrivateKey.generate()

NODE_KEYS = {
    "REGISTRY_PUBLIC_KEY": envelope.public_text(ENCRYPTION_KEY),
    "REGISTRY_SIGNING_KEY": envelope.public_text(SIGNING_KEY),
}


def open_sealed(sealed_text: str) -> dict:
    """The payload inside a sealed envelope, decrypted with the test registry's key."""
    sealed = json.loads(sealed_text)
    body = base64.b64decode(sealed["body"])
    if sealed["encryption"] != envelope.PLAIN:
        body = envelope.SUITE.decrypt(
            body,
            ENCRYPTION_KEY,
            info=envelope.context(sealed["node_id"], sealed["submission_id"]),
        )
    return json.loads(body)
