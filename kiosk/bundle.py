"""Bundles: undelivered envelopes carried to the registry on a USB stick.

A bundle is one JSON file: the envelopes, and a manifest listing each one's
SHA-256, signed with the node's Ed25519 key. The registry checks the manifest
signature and every hash before it imports anything, so a bundle changed on the
way (an envelope added, removed or altered) is refused whole. Each envelope is
then taken in through the same idempotent path as an HTTP delivery.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import envelope

VERSION = 1


class BundleError(ValueError):
    """The bundle is malformed or was changed after the node signed it."""


def _manifest_bytes(manifest: dict) -> bytes:
    return b"kz-social-projects/bundle/v1|" + envelope.canonical(manifest).encode()


def make(node_id: str, signing_key: Ed25519PrivateKey, sealed: list[str]) -> dict:
    """A signed bundle of these stored envelope texts."""
    manifest = {
        "node_id": node_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": [
            {
                "submission_id": json.loads(text)["submission_id"],
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
            }
            for text in sealed
        ],
    }
    return {
        "bundle": VERSION,
        "manifest": manifest,
        "signature": envelope.b64encode(signing_key.sign(_manifest_bytes(manifest))),
        "envelopes": [json.loads(text) for text in sealed],
    }


def node_of(bundle: object) -> str:
    """The node a bundle says it comes from (checked by `open_bundle`)."""
    try:
        return str(bundle["manifest"]["node_id"])  # type: ignore[index]
    except (KeyError, TypeError):
        raise BundleError("not a bundle: no manifest") from None


def open_bundle(bundle: dict, node_key: Ed25519PublicKey) -> list[dict]:
    """Check the signature and every hash; return the envelopes, or raise BundleError."""
    try:
        if bundle["bundle"] != VERSION:
            raise BundleError("unknown bundle version")
        manifest, envelopes = bundle["manifest"], bundle["envelopes"]
        signature = envelope.b64decode(bundle["signature"])
        node_key.verify(signature, _manifest_bytes(manifest))
        listed = [(item["submission_id"], item["sha256"]) for item in manifest["items"]]
    except (KeyError, TypeError, envelope.EnvelopeError):
        raise BundleError("not a bundle: fields missing") from None
    except InvalidSignature:
        raise BundleError("the manifest signature does not match the node's key") from None
    carried = [
        (
            sealed.get("submission_id"),
            hashlib.sha256(envelope.canonical(sealed).encode()).hexdigest(),
        )
        for sealed in envelopes
    ]
    if carried != listed:
        raise BundleError("the envelopes do not match the signed manifest")
    return envelopes
