"""The registry's signed receipt: the only answer a node takes as "delivered".

A node deletes its only ciphertext once an application is delivered, so the
answer it believes must come from the registry and from nowhere else (a man in
the middle on plain HTTP, a wrong DNS entry, a proxy that answers for it). The
registry signs each receipt with its Ed25519 key; the node checks the signature
with the public half it was given (``KIOSK_REGISTRY_SIGNING_KEY``), and that
the receipt names this node, this submission and the payload hash the node
computed before sealing.

The signed bytes are domain separated and unambiguous: the UTF-8 of the compact
JSON array ``["kz-social-projects/receipt/v1", node_id, submission_id,
registry_id, received_at, payload_sha256]``.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import envelope

DOMAIN = "kz-social-projects/receipt/v1"
SIGNED_FIELDS = ("node_id", "submission_id", "registry_id", "received_at", "payload_sha256")


class ReceiptError(ValueError):
    """The answer is not a receipt this node can believe; the reason says why."""


def signed_bytes(receipt: dict) -> bytes:
    """What the signature covers, in a form no two different receipts share."""
    values = [DOMAIN, *(receipt[name] for name in SIGNED_FIELDS)]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def sign(receipt: dict, key: Ed25519PrivateKey) -> dict:
    """The receipt with its `signature` added (the registry's side)."""
    return {**receipt, "signature": envelope.b64encode(key.sign(signed_bytes(receipt)))}


def check(
    receipt: dict,
    *,
    key: Ed25519PublicKey | None,
    node_id: str,
    submission_id: str,
    payload_sha256: str,
) -> None:
    """Raise ReceiptError unless the registry signed this receipt for exactly this application."""
    if key is None:
        raise ReceiptError("KIOSK_REGISTRY_SIGNING_KEY is not set: receipts cannot be checked")
    if not all(isinstance(receipt.get(name), str) for name in (*SIGNED_FIELDS, "signature")):
        raise ReceiptError("the receipt is not signed or lacks a field")
    try:
        key.verify(envelope.b64decode(receipt["signature"]), signed_bytes(receipt))
    except (InvalidSignature, envelope.EnvelopeError):
        raise ReceiptError("the receipt's signature is not the registry's") from None
    expected = {
        "node_id": node_id,
        "submission_id": submission_id,
        "payload_sha256": payload_sha256,
    }
    for name, value in expected.items():
        if receipt[name] != value:
            raise ReceiptError(f"the signed receipt is for another {name}")


# Keys ------------------------------------------------------------------------


def private_key(path: Path) -> Ed25519PrivateKey:
    """The registry's receipt-signing key, made on first use and kept beside its other key."""
    if not path.exists():
        envelope.write_private_key(path, Ed25519PrivateKey.generate())
    return Ed25519PrivateKey.from_private_bytes(envelope.b64decode(path.read_text().strip()))


def public_key(text: str) -> Ed25519PublicKey:
    """KIOSK_REGISTRY_SIGNING_KEY: base64 of the raw Ed25519 public key."""
    return Ed25519PublicKey.from_public_bytes(envelope.b64decode(text.strip()))
