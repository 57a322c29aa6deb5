"""`flask registry …`: keys, node registration and bundle import for the reference registry.

The commands work on the registry named by the REGISTRY_* environment variables,
whichever app `flask` was pointed at.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .. import bundle, envelope, receipt
from . import admins_cli, create_registry_app, export_cli, files_store, store
from .database import get_db
from .intake import AwaitingFiles, Refused, accept, registry_key
from .nodes_cli import nodes_command

registry_cli = click.Group("registry", help="The reference central registry.")
export_cli.register(registry_cli)  # export, audit: the commissions' exports and their log
registry_cli.add_command(nodes_command)
admins_cli.attach(registry_cli)  # add-admin, disable-admin: the web pages' accounts


@registry_cli.command("keygen")
@click.option(
    "--force",
    is_flag=True,
    help="Replace both keys: undelivered envelopes become unreadable; reconfigure every node.",
)
def keygen_command(force: bool) -> None:
    """Make the registry's keys; print the two lines every node's settings need.

    The X25519 key is what nodes encrypt to (KIOSK_REGISTRY_PUBLIC_KEY); the Ed25519
    key signs receipts, which nodes check (KIOSK_REGISTRY_SIGNING_KEY).
    """
    app = create_registry_app()
    path = Path(app.config["PRIVATE_KEY"])
    if path.exists() and not force:
        key = envelope.registry_private_key(path)
    else:
        key = X25519PrivateKey.generate()
        envelope.write_private_key(path, key)
    signing_path = Path(app.config["RECEIPT_KEY"])
    if force:
        envelope.write_private_key(signing_path, Ed25519PrivateKey.generate())
    signing_key = receipt.private_key(signing_path)
    click.echo(f"KIOSK_REGISTRY_PUBLIC_KEY={envelope.public_text(key)}")
    click.echo(f"KIOSK_REGISTRY_SIGNING_KEY={envelope.public_text(signing_key)}")


@registry_cli.command("add-node")
@click.argument("node_id")
@click.argument("public_key")
def add_node_command(node_id: str, public_key: str) -> None:
    """Register a node by id and Ed25519 public key; print its new secret token."""
    try:
        envelope.node_public_key(public_key)  # refuse a malformed key now, not at first delivery
    except (ValueError, envelope.EnvelopeError):
        raise click.ClickException("PUBLIC_KEY is not a base64 Ed25519 public key") from None
    app = create_registry_app()
    with app.app_context():
        token = store.add_node(get_db(), node_id, public_key)
    click.echo(f"KIOSK_REGISTRY_TOKEN={token}")


@registry_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Import a bundle exported with `flask queue export`; refuses a changed bundle whole.

    An application whose supporting documents have not all arrived is stored but not
    receipted: it is listed as awaiting files, as the API answers 202.
    """
    app = create_registry_app()
    try:
        carried = json.loads(file.read_text(encoding="utf-8"))
        node_id = bundle.node_of(carried)
    except (ValueError, bundle.BundleError) as error:
        raise click.ClickException(f"not a bundle: {error}") from None
    with app.app_context():
        db = get_db()
        node = store.node_by_id(db, node_id)
        if node is None:
            raise click.ClickException(f"unknown node {node_id!r}")
        try:
            envelopes = bundle.open_bundle(carried, envelope.node_public_key(node.public_key))
            files = bundle.files_of(carried)
        except bundle.BundleError as error:
            raise click.ClickException(f"refused: {error}") from None
        kept = _keep_files(db, node_id, files)  # first: the receipts wait for them
        created = repeated = awaiting = 0
        for sealed in envelopes:
            try:
                receipt = accept(db, node, sealed, via="bundle")
            except Refused as refused:
                click.echo(f"refused {sealed.get('submission_id')}: {refused.reason}")
                continue
            except AwaitingFiles as waiting:
                click.echo(
                    f"awaiting files {sealed['submission_id']}: {len(waiting.missing)} not here"
                    f" ({', '.join(waiting.missing)})"
                )
                awaiting += 1
                continue
            created += receipt.created
            repeated += not receipt.created
    summary = f"Imported {created} new applications; {repeated} were already here"
    if kept:
        summary += f"; {kept} supporting documents kept"
    click.echo(f"{summary}; {awaiting} await their files." if awaiting else f"{summary}.")


def _keep_files(db, node_id: str, files: list[dict]) -> int:
    """Open each carried file and keep it as an upload's would be; how many were kept.

    A file that does not open here, or is not the one its hash names, is reported and
    left out: its application then waits for it, as over the API.
    """
    kept = 0
    for file in files:
        try:
            data = envelope.open_file(
                file["sealed"],
                encryption=file["encryption"],
                node_id=node_id,
                submission_id=file["submission_id"],
                sha256=file["sha256"],
                registry_key=registry_key(),
            )
            with db.transaction():
                files_store.keep(db, node_id, file["submission_id"], file["sha256"], data)
        except (envelope.EnvelopeError, files_store.Unusable) as error:
            click.echo(f"file refused for {file['submission_id']}: {error}")
            continue
        kept += 1
    return kept
