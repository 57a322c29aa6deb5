"""Sealing an application for the registry, and opening it there.

On the node, the payload is encrypted to the registry's public key before it is
written anywhere (HPKE, RFC 9180: X25519, HKDF-SHA256, AES-128-GCM, a fresh key
for every submission), with the node id and submission id bound in as context,
and the result is signed with the node's own Ed25519 key. The node keeps no key
that can decrypt it. The registry checks the signature against the key it has
on file for that node, then decrypts.

Without a registry key configured (a developer's machine) the payload travels
as plain JSON, still signed.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

VERSION = 1
HPKE = "HPKE-Base-X25519-SHA256-AES128GCM"
PLAIN = "none"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)


class EnvelopeError(ValueError):
    """The envelope is malformed, not from the node it names, or was changed on the way."""


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    if not isinstance(text, str):  # a number or a list in the JSON is malformed, not a crash
        raise EnvelopeError("not base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise EnvelopeError("not base64") from None


def context(node_id: str, submission_id: str) -> bytes:
    """What the ciphertext and signature are bound to: moving it to another id breaks both."""
    return f"kz-social-projects/application/v{VERSION}|{node_id}|{submission_id}".encode()


def _signed_bytes(encryption: str, node_id: str, submission_id: str, body: bytes) -> bytes:
    return context(node_id, submission_id) + b"|" + encryption.encode() + b"|" + body


def seal(
    body: bytes,
    *,
    node_id: str,
    submission_id: str,
    signing_key: Ed25519PrivateKey,
    registry_key: X25519PublicKey | None,
) -> dict:
    """The envelope for one payload: encrypted when a registry key is given, always signed."""
    if registry_key is not None:
        encryption = HPKE
        body = SUITE.encrypt(body, registry_key, info=context(node_id, submission_id))
    else:
        encryption = PLAIN
    signature = signing_key.sign(_signed_bytes(encryption, node_id, submission_id, body))
    return {
        "envelope": VERSION,
        "node_id": node_id,
        "submission_id": submission_id,
        "encryption": encryption,
        "body": b64encode(body),
        "signature": b64encode(signature),
    }


def file_context(node_id: str, submission_id: str, sha256: str) -> bytes:
    """What a sealed supporting document is bound to: its node, application and hash."""
    return f"kz-social-projects/attachment/v1|{node_id}|{submission_id}|{sha256}".encode()


def seal_file(
    data: bytes,
    *,
    node_id: str,
    submission_id: str,
    sha256: str,
    registry_key: X25519PublicKey | None,
) -> tuple[str, bytes]:
    """(encryption, bytes to upload) for one cleaned file (docs/registry-api.md, A file, sealed).

    Not signed: the signed payload names the file's hash, which the registry checks
    after opening it.
    """
    if registry_key is None:
        return PLAIN, data
    return HPKE, SUITE.encrypt(
        data, registry_key, info=file_context(node_id, submission_id, sha256)
    )


def open_file(
    sealed: bytes,
    *,
    encryption: str,
    node_id: str,
    submission_id: str,
    sha256: str,
    registry_key: X25519PrivateKey | None,
) -> bytes:
    """The cleaned file inside an upload; EnvelopeError if it does not open here.

    The caller checks the SHA-256 of what comes out against `sha256`.
    """
    if encryption == PLAIN:
        return sealed
    if encryption != HPKE:
        raise EnvelopeError("unknown encryption")
    if registry_key is None:
        raise EnvelopeError("encrypted, but this registry has no private key")
    try:
        return SUITE.decrypt(
            sealed, registry_key, info=file_context(node_id, submission_id, sha256)
        )
    except (InvalidTag, ValueError):
        raise EnvelopeError("cannot decrypt: wrong key or changed ciphertext") from None


def canonical(sealed: dict) -> str:
    """The envelope as the JSON text stored and sent: same envelope, same bytes."""
    return json.dumps(sealed, sort_keys=True, separators=(",", ":"))


def verify(envelope: dict, node_key: Ed25519PublicKey) -> bytes:
    """Check the envelope's shape and signature; return the (still sealed) body."""
    try:
        if envelope["envelope"] != VERSION or envelope["encryption"] not in (HPKE, PLAIN):
            raise EnvelopeError("unknown envelope version or encryption")
        node_id, submission_id = str(envelope["node_id"]), str(envelope["submission_id"])
        body, signature = b64decode(envelope["body"]), b64decode(envelope["signature"])
    except (KeyError, TypeError):
        raise EnvelopeError("envelope fields missing") from None
    try:
        signed = _signed_bytes(envelope["encryption"], node_id, submission_id, body)
        node_key.verify(signature, signed)
    except InvalidSignature:
        raise EnvelopeError("signature does not match the node's key") from None
    return body


def open_envelope(
    envelope: dict, *, node_key: Ed25519PublicKey, registry_key: X25519PrivateKey | None
) -> bytes:
    """Verify the sender, then decrypt: the payload's canonical JSON bytes."""
    body = verify(envelope, node_key)
    if envelope["encryption"] == PLAIN:
        return body
    if registry_key is None:
        raise EnvelopeError("encrypted, but this registry has no private key")
    try:
        return SUITE.decrypt(
            body, registry_key, info=context(envelope["node_id"], envelope["submission_id"])
        )
    except (InvalidTag, ValueError):
        raise EnvelopeError("cannot decrypt: wrong key or changed ciphertext") from None


# Keys ------------------------------------------------------------------------


def private_bytes(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def public_text(key: Ed25519PrivateKey | X25519PrivateKey) -> str:
    """The public half as base64 text, to paste into the other side's configuration."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64encode(raw)


def write_private_key(path: Path, key: Ed25519PrivateKey | X25519PrivateKey) -> None:
    """Write a private key readable by the owner only, replacing any older one atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(b64encode(private_bytes(key)) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def node_signing_key(path: Path) -> Ed25519PrivateKey:
    """The node's Ed25519 key, made on first use and kept in the instance folder."""
    if not path.exists():
        write_private_key(path, Ed25519PrivateKey.generate())
    return Ed25519PrivateKey.from_private_bytes(b64decode(path.read_text().strip()))


def registry_private_key(path: Path) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(b64decode(path.read_text().strip()))


def node_public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64decode(text.strip()))


def registry_public_key(text: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(b64decode(text.strip()))
