"""Word and Excel files (DOCX, XLSX): read as the ZIP packages they are, never unpacked.

Like a PDF, an Office file is kept byte for byte, so it is read first. Its package says
what it is: [Content_Types].xml names the main part, and that (not the file's name, not
filetype's guess from the first entries) decides between DOCX and XLSX. What is refused is
what Office would run or fetch when the file is opened: macros (a VBA project, a
macro-enabled main part, Excel 4 macro sheets), ActiveX controls and embedded OLE objects
(an `oleObject*.bin` can wrap any program, one double-click from running; a chart's
embedded workbook, itself a DOCX or XLSX part, is fine); and links that reach
out of the file (linked workbooks, attached templates, linked pictures and objects, data
connections), which can leak the reader's network credentials or pull in a macro later.
Ordinary hyperlinks, which only open when clicked, are fine.

Nothing is ever extracted, but a package whose entry names climb out of a folder, or that
unpacks to far more than it weighs (a zip bomb), is hostile, not a document: DAMAGED.
The XML read here goes through expat without a DTD: Office never writes one.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from urllib.parse import unquote
from xml.parsers import expat

from ..competition import Documents
from .checks import Problem, Refused

MiB = 1024 * 1024
# A package of more entries, more unpacked bytes, or an entry that grew more than MAX_RATIO
# times (above RATIO_FROM: small parts of repetitive XML legitimately compress very well)
# is a zip bomb. Real DOCX and XLSX files up to 10 MB stay far below all three.
MAX_ENTRIES = 2000
MAX_UNPACKED = 200 * MiB
MAX_RATIO = 100
RATIO_FROM = 1 * MiB
MAX_LISTING = 16 * MiB  # [Content_Types].xml or one .rels file, read whole

MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        Documents.DOCX
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (Documents.XLSX),
}
HYPERLINK_TYPES = {
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/hyperlink",  # strict OOXML
}
# Content types (lower case) of macros and controls: docm, xlsm, dotm, xltm, xlam,
# xlsb; the VBA project and its data; ActiveX; Excel 4 macro sheets; OLE objects.
_MACRO_TYPES = ("macroenabled", "vbaproject", "vbadata", "activex", "macrosheet", "oleobject")
_MACRO_PARTS = re.compile(
    r"(^|/)(vbaproject\.bin|vbadata\.xml)$|(^|/)activex/|^xl/macrosheets/|/embeddings/[^/]*\.bin$"
)
_MACRO_RELATIONSHIPS = re.compile(
    r"/(vbaproject|wordvbadata|control|activexcontrolbinary|xlmacrosheet|xlintlmacrosheet)$"
)
_EXTERNAL_TYPES = ("externallink", "spreadsheetml.connections", "spreadsheetml.querytable")
_EXTERNAL_PARTS = re.compile(r"^xl/(externallinks/|querytables/|connections\.xml$)")
_DRIVE = re.compile(r"^[a-z]:", re.IGNORECASE)


def check(data: bytes) -> str:
    """The media type of a clean DOCX or XLSX; refuse anything else in a ZIP."""
    if b"%PDF-" in data[:1024]:
        raise Refused(Problem.MIXED)  # PDF readers look for their header in the first 1 KiB
    if not _ends_at_directory(data):
        raise Refused(Problem.MIXED)
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        entries = _entries(package.infolist())
    except Refused:
        raise
    except Exception as error:
        raise Refused(Problem.DAMAGED) from error
    listing = entries.get("[content_types].xml")
    if listing is None:
        raise Refused(Problem.TYPE)  # a plain ZIP, or another kind of archive
    defaults, overrides = _content_types(package, listing)
    types = {value.lower() for value in (*defaults.values(), *overrides.values())}
    if _any_of(types, _MACRO_TYPES, entries, _MACRO_PARTS):
        raise Refused(Problem.MACROS)
    media_type, main = _main_part(overrides)
    if main not in entries:
        raise Refused(Problem.DAMAGED)
    if _any_of(types, _EXTERNAL_TYPES, entries, _EXTERNAL_PARTS):
        raise Refused(Problem.EXTERNAL)
    for name, info in entries.items():
        if name.endswith(".rels"):
            _check_relationships(package, info)
    _parse(package, entries[main])
    _test_every_entry(package)
    return media_type


def _any_of(
    types: set[str], words: tuple[str, ...], entries: dict[str, zipfile.ZipInfo], parts: re.Pattern
) -> bool:
    """Whether a content type contains one of `words`, or an entry's name matches `parts`."""
    return any(word in kind for kind in types for word in words) or any(
        parts.search(name) for name in entries
    )


def _ends_at_directory(data: bytes) -> bool:
    """Whether the ZIP's end record (and its comment) is the end of the file.

    ZIP readers find an archive from its end, so bytes appended after it are a second file.
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or end + 22 > len(data):
        raise Refused(Problem.DAMAGED)
    comment = int.from_bytes(data[end + 20 : end + 22], "little")
    return end + 22 + comment == len(data)


def _entries(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """Entries by lower-case name (OPC part names ignore case); refuse bombs and odd names."""
    if len(infos) > MAX_ENTRIES:
        raise Refused(Problem.DAMAGED)
    entries: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.orig_filename  # before zipfile cuts a name at NUL
        if _hostile_name(name) or name.lower() in entries:
            raise Refused(Problem.DAMAGED)  # a name twice: readers differ on which one counts
        if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Refused(Problem.DAMAGED)
        entries[name.lower()] = info
    if sum(info.file_size for info in infos) > MAX_UNPACKED:
        raise Refused(Problem.DAMAGED)
    return entries


def _hostile_name(name: str) -> bool:
    return (
        "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or bool(_DRIVE.match(name))
        or ".." in name.split("/")
    )


def _content_types(
    package: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[dict[str, str], dict[str, str]]:
    """[Content_Types].xml: Default types by extension, Override types by part name."""
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for tag, attributes in _elements(package, info):
        kind = attributes.get("ContentType", "")
        if tag == "Default":
            defaults[attributes.get("Extension", "").lower()] = kind
        elif tag == "Override":
            part = unquote(attributes.get("PartName", "")).lstrip("/").lower()
            overrides[part] = kind
    return defaults, overrides


def _main_part(overrides: dict[str, str]) -> tuple[str, str]:
    """The media type and the (lower-case) name of the one main document part."""
    mains = {part: MAIN_TYPES[kind] for part, kind in overrides.items() if kind in MAIN_TYPES}
    if not mains:
        raise Refused(Problem.TYPE)  # PowerPoint, a template, OpenDocument in OPC dress, ...
    if len(mains) > 1:
        raise Refused(Problem.MIXED)
    ((part, media_type),) = mains.items()
    return media_type, part


def _check_relationships(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A relationship to a VBA project or a control, or out of the file (not a hyperlink)."""
    for tag, attributes in _elements(package, info):
        if tag != "Relationship":
            continue
        kind = attributes.get("Type", "")
        if _MACRO_RELATIONSHIPS.search(kind.lower()):
            raise Refused(Problem.MACROS)
        external = attributes.get("TargetMode", "").lower() == "external"
        if external and kind not in HYPERLINK_TYPES:
            raise Refused(Problem.EXTERNAL)


def _elements(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[tuple[str, dict]]:
    """Every element of a small XML part as (local name, attributes), read without a DTD."""
    if info.file_size > MAX_LISTING:
        raise Refused(Problem.DAMAGED)
    found: list[tuple[str, dict]] = []

    def start(tag: str, attributes: dict) -> None:
        found.append((tag.rpartition(" ")[2], attributes))

    _parse(package, info, start)
    return found


def _parse(
    package: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    start: Callable[[str, dict], None] | None = None,
) -> None:
    """Read one XML part through expat, a megabyte at a time; not well-formed is DAMAGED."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _no_doctype
    if start is not None:
        parser.StartElementHandler = start
    try:
        with package.open(info) as part:
            while chunk := part.read(MiB):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except Exception as error:
        raise Refused(Problem.DAMAGED) from error


def _no_doctype(*_args: object) -> None:
    raise ValueError("a DTD in an Office part")


def _test_every_entry(package: zipfile.ZipFile) -> None:
    """Every entry unpacks and matches its CRC (a broken package would not open in Office)."""
    try:
        broken = package.testzip()
    except Exception as error:
        raise Refused(Problem.DAMAGED) from error
    if broken is not None:
        raise Refused(Problem.DAMAGED)
