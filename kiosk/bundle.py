"""Bundles: undelivered envelopes carried to the registry on a USB stick.

A bundle is one JSON file: the envelopes, their applications' supporting
documents (sealed to the registry's key, as they would be uploaded), and a manifest
listing each envelope's and each file's SHA-256, signed with the node's Ed25519 key.
The registry checks the manifest signature and every hash before it imports
anything, so a bundle changed on the way (an envelope or a file added, removed or
altered) is refused whole. Each file is then kept as an upload's would be, and each
envelope taken in through the same idempotent path as an HTTP delivery.
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


def make(
    node_id: str,
    signing_key: Ed25519PrivateKey,
    sealed: list[str],
    files: list[dict] | None = None,
) -> dict:
    """A signed bundle of these stored envelope texts and sealed files.

    Each file is {"submission_id", "sha256" (of the cleaned file), "encryption", "sealed"
    (the bytes as the node would upload them)}.
    """
    files = files or []
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
    if files:
        manifest["files"] = [_listed(file) for file in files]
    made = {
        "bundle": VERSION,
        "manifest": manifest,
        "signature": envelope.b64encode(signing_key.sign(_manifest_bytes(manifest))),
        "envelopes": [json.loads(text) for text in sealed],
    }
    if files:
        made["files"] = [
            {
                "submission_id": file["submission_id"],
                "sha256": file["sha256"],
                "encryption": file["encryption"],
                "sealed": envelope.b64encode(file["sealed"]),
            }
            for file in files
        ]
    return made


def _listed(file: dict) -> dict:
    """A file as the manifest lists it: whose it is, which it is, and its sealed bytes' hash."""
    return {
        "submission_id": file["submission_id"],
        "sha256": file["sha256"],
        "encryption": file["encryption"],
        "sealed_sha256": hashlib.sha256(file["sealed"]).hexdigest(),
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
        if not isinstance(envelopes, list) or not all(isinstance(e, dict) for e in envelopes):
            raise BundleError("not a bundle: the envelopes are not a list of objects")
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
    if [_listed(file) for file in files_of(bundle)] != manifest.get("files", []):
        raise BundleError("the files do not match the signed manifest")
    return envelopes


def files_of(bundle: dict) -> list[dict]:
    """The files a bundle carries, their sealed bytes decoded; BundleError if malformed.

    Checked against the signed manifest by `open_bundle`: call that first.
    """
    try:
        return [
            {
                "submission_id": str(file["submission_id"]),
                "sha256": str(file["sha256"]),
                "encryption": str(file["encryption"]),
                "sealed": envelope.b64decode(file["sealed"]),
            }
            for file in bundle.get("files", [])
        ]
    except (KeyError, TypeError, AttributeError, envelope.EnvelopeError):
        raise BundleError("not a bundle: a file's fields are missing") from None
