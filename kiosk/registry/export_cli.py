"""`flask registry export` and `flask registry audit`: the commissions' exports, and their log.

Every export that reads applications is written to the registry's audit log
(audit_log.py) with who ran it (the OS user, and `--by` when given), which region, how
many applications, the format, the language and where it went; an export that found
none is logged too (someone looked). An export whose audit row cannot be written is
taken back: no export leaves the registry unlogged.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click

from .. import competition
from . import audit_log, create_registry_app, database, export
from .export_values import LANGUAGES


def os_user() -> str:
    """Who is running the command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's user without a name
        return f"uid {os.getuid()}"


def _region(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in competition.regions():
        known = ", ".join(competition.regions())
        raise click.BadParameter(f"{value!r} is not a region code; one of {known}")
    return code


@click.command("export")
@click.option(
    "--region",
    callback=_region,
    help="ISO 3166-2:KZ code, e.g. KZ-75 (a regional commission); without it, every region.",
)
@click.option(
    "--format", "fmt", type=click.Choice(export.FORMATS), default="xlsx", show_default=True
)
@click.option("--lang", type=click.Choice(list(LANGUAGES)), default="kk", show_default=True)
@click.option(
    "--separator",
    type=click.Choice([";", ","]),
    default=";",
    show_default=True,
    help="CSV only: what Excel expects on this computer (';' with Kazakh or Russian settings).",
)
@click.option("--by", "by", help="Who the export is for or by (a name, for the audit log).")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
def export_command(
    region: str | None, fmt: str, lang: str, separator: str, by: str | None, folder: Path
) -> None:
    """Write a region's applications (or all) to DIR, with their supporting documents."""
    app = create_registry_app()
    with database.connected(app.config) as db:
        try:
            result = export.export(
                db, folder, region=region, fmt=fmt, lang=lang, separator=separator
            )
        except export.ExportFailed as error:
            raise click.ClickException(str(error)) from None
        detail = {
            "region": region or "all",
            "applications": result.applications,
            "unreadable": len(result.unreadable),
            "documents": result.documents,
            "format": fmt,
            "language": lang,
            "path": str(result.path.resolve()) if result.path else None,
            "by": by,
        }
        try:
            audit_log.record(db, "export", os_user(), detail)
        except Exception:
            export.remove(result)
            raise click.ClickException(
                "the audit log could not be written, so the export was removed"
            ) from None
    if result.unreadable:
        click.echo(
            f"{_count(len(result.unreadable), 'stored application')} could not be read, left out"
            f" (their region is unknown): {', '.join(result.unreadable)}",
            err=True,
        )
    where = region or "any region"
    if result.path is None:
        click.echo(f"No applications for {where}: nothing written.")
        return
    click.echo(f"Wrote {_count(result.applications, 'application')} for {where} to {result.path}")
    if result.documents_folder is not None:
        documents = _count(result.documents, "supporting document")
        click.echo(f"Wrote {documents} to {result.documents_folder}")
    if result.documents_missing:
        missing = _count(result.documents_missing, "supporting document")
        click.echo(f"{missing} not at the registry yet (listed as not received)")


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


@click.command("audit")
def audit_command() -> None:
    """Print the registry's audit log, oldest first, and check its hash chain."""
    app = create_registry_app()
    with database.connected(app.config) as db:
        rows = audit_log.entries(db)
        verdict = audit_log.verify(db)
    for row in rows:
        detail = ", ".join(f"{key}={value}" for key, value in row["detail"].items())
        click.echo(f"{row['id']:>6}  {row['at']}  {row['event']:<14} {row['actor']}  {detail}")
    if verdict.broken_at is not None:
        raise click.ClickException(
            f"the audit log is broken at row {verdict.broken_at}: {verdict.reason}"
            f" ({verdict.rows} rows before it are intact)"
        )
    click.echo(f"{_count(verdict.rows, 'row')}, chain intact. Last hash: {verdict.head}")


def register(group: click.Group) -> None:
    """Attach both commands to `flask registry` (cli.py's one line)."""
    group.add_command(export_command)
    group.add_command(audit_command)
