"""Exports for the commissions: a region's applications (or all) as XLSX, CSV or JSON Lines.

One row per application, labelled in one language (export_values.py), and each
application's supporting documents in a folder of its own beside the table. What is
written and why is in docs/exports.md; the command is export_cli.py.

Nothing already in the folder is ever overwritten: each export takes the first free
name (`…-2.xlsx`, `…-3.xlsx`), opened exclusively, so two exports at once cannot write
one file. An export that fails half-way removes what it wrote.

A cell that begins like a formula (`=`, `+`, `-`, `@`, a tab, a carriage return) stays
text: an applicant's "=HYPERLINK(…)" must not run on a commission member's computer.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from ..config import TIMEZONE
from . import export_values
from .database import Database
from .export_values import Stored, Value

FORMATS = ("xlsx", "csv", "jsonl")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
EXTENSIONS = {  # the extension a document gets for what it is (its media type), not its name
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
SAME_EXTENSION = {".jpeg": ".jpg"}
_NOT_IN_NAMES = set('<>:"/\\|?*;')
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{d}{n}" for d in ("COM", "LPT") for n in range(10)
}
NAME_LIMIT = 100  # characters of a document's file name, with its extension


@dataclass
class Result:
    """What one export wrote; `unreadable` lists the registry numbers of payloads skipped."""

    applications: int = 0
    unreadable: list[str] = field(default_factory=list)
    path: Path | None = None
    documents_folder: Path | None = None
    documents: int = 0
    documents_missing: int = 0


class ExportFailed(Exception):
    """The export could not be written (the folder, the disk); nothing of it is left."""


def applications(db: Database, region: str | None) -> tuple[list[Stored], list[str]]:
    """The region's applications (every one without a region), oldest first, and the
    registry numbers of stored payloads that could not be read as an application."""
    found: list[Stored] = []
    unreadable: list[str] = []
    for row in db.rows(
        "SELECT id, node_id, submission_id, payload, received_at FROM applications ORDER BY id"
    ):
        try:
            given = json.loads(row["payload"])
            if not isinstance(given, dict) or not isinstance(given.get("region"), str):
                raise ValueError("not an application")
        except (ValueError, RecursionError):
            unreadable.append(f"R{row['id']:08d}")
            continue
        if region is None or given["region"] == region:
            found.append(
                Stored(row["id"], row["node_id"], row["submission_id"], row["received_at"], given)
            )
    return found, unreadable


def stem_of(region: str | None, lang: str) -> str:
    """The export's name without extension: region (or `all`), the day in Almaty, language."""
    return f"applications-{region or 'all'}-{datetime.now(TIMEZONE).date().isoformat()}-{lang}"


def export(
    db: Database, folder: Path, *, region: str | None, fmt: str, lang: str, separator: str = ";"
) -> Result:
    """Write one export into `folder` (made if missing); nothing when there is nothing to export."""
    if fmt not in FORMATS:
        raise ValueError(f"no such format: {fmt!r}")
    found, unreadable = applications(db, region)
    result = Result(unreadable=unreadable)
    with export_values.language(lang):
        planned: list[tuple[Stored, dict[str, Value], list[tuple[str, dict]]]] = []
        for stored in found:
            try:  # labels and file names first: a payload that has none is skipped, not written
                shown = export_values.values(stored, lang, NO_DOCUMENTS)
                planned.append((stored, shown, _planned_documents(stored)))
            except Exception:  # noqa: BLE001 — any shape of broken payload: count it, go on
                result.unreadable.append(stored.registry_number)
        if not planned:
            return result
        try:
            folder.mkdir(parents=True, exist_ok=True)
            table, documents_folder = _claim(folder, region, lang, fmt)
        except OSError as error:
            raise ExportFailed(f"cannot write to {folder}: {error.strerror or error}") from None
        try:
            for stored, shown, documents in planned:
                shown["documents"] = _write_documents(
                    db, stored, documents, folder, documents_folder, result
                )
            with table:
                table.write(_WRITERS[fmt]([shown for _stored, shown, _docs in planned], separator))
                table.flush()
                os.fsync(table.fileno())  # a USB stick pulled out after "written" keeps it
        except OSError as error:
            _remove(table, documents_folder)
            raise ExportFailed(f"cannot write the export: {error.strerror or error}") from None
    result.applications = len(planned)
    result.path = Path(table.name)
    result.documents_folder = documents_folder if documents_folder.exists() else None
    return result


def remove(result: Result) -> None:
    """Take back a written export (its audit row could not be written)."""
    if result.path is not None:
        result.path.unlink(missing_ok=True)
    if result.documents_folder is not None:
        shutil.rmtree(result.documents_folder, ignore_errors=True)


def _claim(folder: Path, region: str | None, lang: str, fmt: str) -> tuple[Any, Path]:
    """Open the first free name for the table, exclusively; its documents' folder beside it."""
    base = stem_of(region, lang)
    for number in range(1, 1000):
        stem = base if number == 1 else f"{base}-{number}"
        documents = folder / f"{stem}-documents"
        if documents.exists() or documents.is_symlink():  # a dangling link too
            continue
        try:
            return open(folder / f"{stem}.{fmt}", "xb"), documents  # noqa: SIM115
        except FileExistsError:
            continue
    raise FileExistsError(f"{base}: a thousand exports of this name today")


def _remove(table: Any, documents_folder: Path) -> None:
    table.close()
    Path(table.name).unlink(missing_ok=True)
    shutil.rmtree(documents_folder, ignore_errors=True)


# Supporting documents ----------------------------------------------------------------

NO_DOCUMENTS = Value([], "", coded=False)


def _planned_documents(stored: Stored) -> list[tuple[str, dict]]:
    """Each listed document with the file name it will have: safe, and unique in its folder."""
    used: set[str] = set()
    planned = []
    for item in stored.payload.get("attachments") or []:
        listed = {key: item[key] for key in ("name", "media_type", "size", "sha256")}
        planned.append(
            (unique(document_name(str(item["name"]), str(item["media_type"])), used), listed)
        )
    return planned


def _write_documents(
    db: Database,
    stored: Stored,
    documents: list[tuple[str, dict]],
    folder: Path,
    documents_folder: Path,
    result: Result,
) -> Value:
    """Write one application's documents into a folder of its own; their listing."""
    if not documents:
        return NO_DOCUMENTS
    here = documents_folder / safe_name(f"{stored.registry_number}_{stored.payload['reference']}")
    codes, labels = [], []
    for name, item in documents:
        row = db.execute(
            "SELECT data FROM files WHERE submission_id = ? AND sha256 = ? AND node_id = ?",
            [stored.submission_id, str(item["sha256"]), stored.node_id],
        ).fetchone()
        path = None
        if row is not None:
            here.mkdir(parents=True, exist_ok=True)
            with open(here / name, "xb") as file:
                file.write(bytes(row[0]))
            path = (here / name).relative_to(folder).as_posix()
            result.documents += 1
        else:
            result.documents_missing += 1
        codes.append({**item, "path": path})
        labels.append(export_values.document_label(path, str(item["name"])))
    return Value(codes, "\n".join(labels), coded=False)


def safe_name(name: str) -> str:
    """A file or folder name that stays where it is put, on Linux, Windows and macOS.

    Only the last part of a path is kept; control characters, the characters Windows
    refuses and leading dots go; Windows' device names get a `_` in front.
    """
    name = unicodedata.normalize("NFC", name)
    name = PurePath(name.replace("\\", "/")).name
    kept = "".join(
        " " if unicodedata.category(char)[0] in "CZ" else "_" if char in _NOT_IN_NAMES else char
        for char in name
    )
    kept = " ".join(kept.split()).lstrip(".").rstrip(". ")
    if not kept:
        return "_"
    if kept.split(".")[0].upper() in _WINDOWS_DEVICES:
        kept = f"_{kept}"
    return kept


def document_name(name: str, media_type: str) -> str:
    """The applicant's file name, made safe, ending in the extension of what the file is."""
    extension = EXTENSIONS.get(media_type, ".bin")
    stem = safe_name(name)
    suffix = PurePath(stem).suffix.lower()
    if SAME_EXTENSION.get(suffix, suffix) == extension:
        stem = stem[: -len(suffix)]
    stem = stem[: NAME_LIMIT - len(extension) - 4].rstrip(". ") or "document"
    return f"{stem}{extension}"


def unique(name: str, used: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)` …: one not taken yet, ignoring case (Windows, macOS)."""
    extension = PurePath(name).suffix
    stem = name[: len(name) - len(extension)]
    candidate, number = name, 1
    while candidate.casefold() in used:
        number += 1
        candidate = f"{stem} ({number}){extension}"
    used.add(candidate.casefold())
    return candidate


# The three formats ---------------------------------------------------------------------


def _cell_text(value: Any) -> Any:
    """A spreadsheet cell's value: numbers as numbers, text without characters XLSX refuses."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return value


def _is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def _xlsx(rows: list[dict[str, Value]], _separator: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = gettext("Applications")[:31]
    sheet.append(export_values.headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append([_cell_text(value.label) for value in row.values()])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl made of a leading "="
                if _is_formula_like(cell.value):
                    cell.quotePrefix = True  # and still text when someone edits the cell
                if "\n" in cell.value:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column in sheet.columns:
        width = max(len(str(cell.value or "").split("\n")[0]) for cell in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width, 10), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(rows: list[dict[str, Value]], separator: str) -> bytes:
    """UTF-8 with a byte order mark, which is how Excel knows the Kazakh letters."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow(export_values.headers())
    for row in rows:
        cells = [_cell_text(value.label) for value in row.values()]
        writer.writerow(f"'{cell}" if _is_formula_like(cell) else cell for cell in cells)
    return out.getvalue().encode("utf-8-sig")


def _jsonl(rows: list[dict[str, Value]], _separator: str) -> bytes:
    """One object per line: each field's code under its key, and `<key>_label` beside any
    that a person reads differently (a region's name, a date in words)."""
    lines = []
    for row in rows:
        record: dict[str, Any] = {}
        for key, value in row.items():
            record[key] = value.code
            if value.coded:
                record[f"{key}_label"] = value.label
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")


_WRITERS: dict[str, Callable[[list[dict[str, Value]], str], bytes]] = {
    "xlsx": _xlsx,
    "csv": _csv,
    "jsonl": _jsonl,
}
