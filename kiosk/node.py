"""Who this node is: its id, its signing key, and the registry key it encrypts to.

The node id and Ed25519 signing key are made on first start and kept in the
instance folder; the registry's public key comes from KIOSK_REGISTRY_PUBLIC_KEY.
Only the public halves ever leave the machine.
"""

from __future__ import annotations

import logging
import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from flask import Flask, current_app
from flask.cli import AppGroup

from . import envelope, receipt
from .config import ConfigError
from .outbox import transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    node_id: str
    signing_key: Ed25519PrivateKey
    registry_key: X25519PublicKey | None
    receipt_key: Ed25519PublicKey | None = None  # checks the registry's receipts

    def seal(self, body: bytes, submission_id: str) -> dict:
        """Encrypt (when a registry key is set) and sign one payload."""
        return envelope.seal(
            body,
            node_id=self.node_id,
            submission_id=submission_id,
            signing_key=self.signing_key,
            registry_key=self.registry_key,
        )


def _node_id(instance: Path, configured: str) -> str:
    if configured:
        return configured
    path = instance / "node_id"
    if not path.exists():
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(f"node-{secrets.token_hex(4)}\n")
    return path.read_text().strip()


REQUIRED_KEYS = ("REGISTRY_PUBLIC_KEY", "REGISTRY_SIGNING_KEY")


def require_registry_keys(config: dict) -> None:
    """A kiosk, or a node behind a proxy (a public website), never runs without the registry keys.

    Without them applications would be queued readable (names, IINs) and receipts could
    not be checked. Only a developer's own machine may run without them.
    """
    public = config["KIOSK_MODE"] or config["TRUSTED_PROXY"]
    for name in REQUIRED_KEYS:
        if public and not config.get(name):
            raise ConfigError(
                f"KIOSK_{name} must be set on a kiosk (KIOSK_MODE=on) or a node behind a proxy"
                " (KIOSK_TRUSTED_PROXY): run `flask registry keygen` at the registry and copy"
                " the line it prints"
            )


def _receipt_key(text: str) -> Ed25519PublicKey | None:
    if not text:
        log.warning("KIOSK_REGISTRY_SIGNING_KEY is not set: nothing counts as delivered")
        return None
    try:
        return receipt.public_key(text)
    except (ValueError, envelope.EnvelopeError):
        message = "KIOSK_REGISTRY_SIGNING_KEY is not a base64 Ed25519 public key"
        raise ConfigError(message) from None


def _trust_registry_ca(path: str) -> None:
    """KIOSK_REGISTRY_CA, or the system's authorities alone when it is empty; a file that
    cannot be read stops the start, saying why."""
    try:
        transport.trust(path)
    except (OSError, ssl.SSLError) as error:
        message = f"KIOSK_REGISTRY_CA {path!r} is not a readable PEM certificate file: {error}"
        raise ConfigError(message) from None


def load(app: Flask) -> Identity:
    require_registry_keys(app.config)
    _trust_registry_ca(app.config.get("REGISTRY_CA", ""))
    instance = Path(app.config["INSTANCE"])
    registry_key = None
    if app.config["REGISTRY_PUBLIC_KEY"]:
        try:
            registry_key = envelope.registry_public_key(app.config["REGISTRY_PUBLIC_KEY"])
        except (ValueError, envelope.EnvelopeError):
            message = "KIOSK_REGISTRY_PUBLIC_KEY is not a base64 X25519 public key"
            raise ConfigError(message) from None
    else:
        log.warning(
            "KIOSK_REGISTRY_PUBLIC_KEY is not set: applications are queued unencrypted"
            " (allowed on a developer's machine only)"
        )
    return Identity(
        node_id=_node_id(instance, app.config["NODE_ID"]),
        signing_key=envelope.node_signing_key(instance / "node_key"),
        registry_key=registry_key,
        receipt_key=_receipt_key(app.config["REGISTRY_SIGNING_KEY"]),
    )


def identity() -> Identity:
    return current_app.extensions["node"]


node_cli = AppGroup("node", help="This node's identity and keys.")


@node_cli.command("keygen")
@click.option("--force", is_flag=True, help="Replace an existing key (the registry must be told).")
def keygen_command(force: bool) -> None:
    """Make the node's Ed25519 signing key (if missing) and print what the registry needs."""
    path = Path(current_app.config["INSTANCE"]) / "node_key"
    if force or not path.exists():
        envelope.write_private_key(path, Ed25519PrivateKey.generate())
    key = envelope.node_signing_key(path)
    click.echo(f"node id:    {identity().node_id}")
    click.echo(f"public key: {envelope.public_text(key)}")
    click.echo("Register it at the registry: flask registry add-node NODE_ID PUBLIC_KEY")


def init_app(app: Flask) -> None:
    app.extensions["node"] = load(app)
    app.cli.add_command(node_cli)
