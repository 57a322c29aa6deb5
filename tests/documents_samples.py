"""Sample files for the supporting-documents tests, good and hostile, made in memory.

No binary file is committed: each function builds its sample from Pillow, pillow-heif,
pypdf and zipfile (or by hand, for the hostile ones), small and quick, so that the unit
tests of kiosk.documents.checks and the page tests can share them. Functions that take a
while are cached; they return bytes, which nobody can change.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zipfile
import zlib
from functools import cache

import pillow_heif
from PIL import Image, ImageCms, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

pillow_heif.register_heif_opener()

SERIAL = "CAMERA-SERIAL-0042"  # written into EXIF, must not come out
GPS_LATITUDE = (43.0, 15.0, 12.5)  # Almaty
GPS_LONGITUDE = (76.0, 54.0, 36.0)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude='
    b'"43,15.2N"/></rdf:RDF></x:xmpmeta>'
)
COMMENT = b"secret comment"

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# Images -------------------------------------------------------------------------------


def picture(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    """A blue picture with a red top-left quarter, to see which way it was turned."""
    image = Image.new(mode, (width, height), "blue")
    image.paste("red", (0, 0, width // 2, height // 2))
    return image


def noise(width: int, height: int, sigma: float = 40.0) -> Image.Image:
    """Random colour noise, which compresses badly: for files of a given weight."""
    channels = [Image.effect_noise((width, height), sigma) for _ in range(3)]
    return Image.merge("RGB", channels)


def camera_exif(orientation: int = 6) -> bytes:
    """EXIF as a phone writes it: make, orientation, body serial number, GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # Exif IFD: BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: GPS_LATITUDE, 3: "E", 4: GPS_LONGITUDE})
    return exif.tobytes()


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg(
    width: int = 64,
    height: int = 48,
    exif: bool = False,
    icc: bool = False,
    xmp: bool = False,
    comment: bool = False,
    quality: int = 90,
    image: Image.Image | None = None,
) -> bytes:
    """A JPEG; with exif=True it carries GPS, a camera serial number and orientation 6."""
    image = image or picture(width, height)
    options: dict = {"quality": quality}
    if exif:
        options["exif"] = camera_exif()
    if icc:
        options["icc_profile"] = icc_profile()
    if xmp:
        options["xmp"] = XMP
    if comment:
        options["comment"] = COMMENT
    output = io.BytesIO()
    image.save(output, "JPEG", **options)
    return output.getvalue()


def phone_photo(width: int = 4000, height: int = 3000, sigma: float = 28.0) -> bytes:
    """A noisy photo at quality 95 with EXIF GPS and orientation: about 10 MB at 12 MP."""
    return jpeg(image=noise(width, height, sigma), quality=95, exif=True)


def png(
    width: int = 64,
    height: int = 48,
    alpha: bool = False,
    text: bool = False,
    icc: bool = False,
    mode: str | None = None,
) -> bytes:
    """A PNG, with a half-transparent corner when alpha=True, text chunks when text=True."""
    image = picture(width, height, mode or ("RGBA" if alpha else "RGB"))
    if alpha:
        image.paste((0, 255, 0, 128), (width // 2, height // 2, width, height))
    options: dict = {}
    if text:
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Applicant Name")
        info.add_text("Comment", "GPS 43.25N 76.91E", zip=True)
        info.add_itxt("Description", "жеке мәлімет", lang="kk")
        options["pnginfo"] = info
    if icc:
        options["icc_profile"] = icc_profile()
    output = io.BytesIO()
    image.save(output, "PNG", **options)
    return output.getvalue()


def palette_noise_png(width: int, height: int) -> bytes:
    """A 256-colour PNG of random pixels: it triples in size when re-encoded as RGB."""
    image = Image.frombytes("P", (width, height), os.urandom(width * height))
    image.putpalette(os.urandom(768))
    output = io.BytesIO()
    image.save(output, "PNG", compress_level=1)
    return output.getvalue()


def png_grey16() -> bytes:
    """A 16-bit greyscale PNG at 40000/65535 (a scanner's output)."""
    output = io.BytesIO()
    Image.new("I;16", (8, 8), 40000).save(output, "PNG")
    return output.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bomb(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side × side pixels of one colour: tens of KB, 400 megapixels."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte, then the packed bits
    rows_per_block = max(1, (1 << 20) // len(row))
    compressor = zlib.compressobj(9)
    compressed, done = [], 0
    while done < side:
        count = min(rows_per_block, side - done)
        compressed.append(compressor.compress(row * count))
        done += count
    compressed.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(compressed))
        + _chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    """A photo cut off in its image data (an interrupted upload), with no end marker."""
    data = jpeg(image=noise(256, 192))
    return data[: len(data) * 2 // 3]


def truncated_png() -> bytes:
    """A PNG whose image data stops halfway, though every chunk and IEND are in place."""
    output = io.BytesIO()
    noise(128, 96).save(output, "PNG")
    whole = output.getvalue()
    start = whole.index(b"IDAT") - 4
    length = struct.unpack(">I", whole[start : start + 4])[0]
    idat = whole[start + 8 : start + 8 + length]
    return whole[:start] + _chunk(b"IDAT", idat[: length // 2]) + _chunk(b"IEND", b"")


def heic(
    width: int = 64, height: int = 48, exif: bool = True, image: Image.Image | None = None
) -> bytes:
    """An HEIC photo as an iPhone sends it, with EXIF GPS and a serial number.

    x265's fastest preset: the slow ones take most of a minute for 12 megapixels here.
    """
    output = io.BytesIO()
    options = {"exif": camera_exif(orientation=1)} if exif else {}
    image = image or picture(width, height)
    image.save(output, "HEIF", quality=80, enc_params={"preset": "ultrafast"}, **options)
    return output.getvalue()


def smooth_photo(width: int, height: int) -> Image.Image:
    """Colour blobs with soft edges, more like a photo than noise (and quicker to encode)."""
    small = noise(max(1, width // 8), max(1, height // 8), 60.0)
    return small.resize((width, height), Image.Resampling.BICUBIC)


def gif() -> bytes:
    output = io.BytesIO()
    picture().convert("P").save(output, "GIF")
    return output.getvalue()


def webp() -> bytes:
    output = io.BytesIO()
    picture().save(output, "WEBP")
    return output.getvalue()


def bmp() -> bytes:
    output = io.BytesIO()
    picture().save(output, "BMP")
    return output.getvalue()


def animated_png() -> bytes:
    """An APNG of two frames: red, then green."""
    output = io.BytesIO()
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "green")]
    frames[0].save(output, "PNG", save_all=True, append_images=frames[1:], duration=100)
    return output.getvalue()


# PDF ----------------------------------------------------------------------------------


def _action(kind: str, **entries: object) -> DictionaryObject:
    action = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject("/" + key)] = value
    return action


def _javascript() -> DictionaryObject:
    return _action("/JavaScript", JS=TextStringObject("app.alert('hello');"))


def _annotation(writer: PdfWriter, subtype: str, **entries: object) -> None:
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject(subtype),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 100, 40)]),
        }
    )
    for key, value in entries.items():
        annotation[NameObject("/" + key)] = value
    page = writer.pages[0]
    annots = page.get("/Annots") or ArrayObject()
    annots.append(writer._add_object(annotation))
    page[NameObject("/Annots")] = annots


def pdf(
    pages: int = 1,
    javascript: bool = False,
    launch: bool = False,
    attachment: bool = False,
    password: str | None = None,
    link: bool = False,
    where: str | None = None,
) -> bytes:
    """A PDF of blank pages made by pypdf, optionally locked or carrying active content.

    javascript: an /OpenAction running JavaScript; launch: a link annotation whose action
    launches a program; attachment: an embedded file (pypdf's add_attachment); password:
    encrypted with this user password ("" opens without asking); link: an ordinary web
    link. `where` hides JavaScript elsewhere: "page_aa" (a page's additional actions),
    "names" (the document-level JavaScript name tree), "next" (chained after a harmless
    GoTo), "file_annotation" (a file attachment annotation), "outline" (a bookmark). Or it
    leaves one sign of active content alone, to test each rule: "js_key" (a /JS entry in a
    dictionary without /S), "js_action" (/S /JavaScript without /JS), "js_names" (an empty
    /JavaScript name tree), "embedded_names" (an empty /EmbeddedFiles name tree),
    "embedded_link" (a link to a file spec carrying /EF), "goto_embedded" (a /GoToE action).
    """
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    root = writer._root_object
    if javascript:
        root[NameObject("/OpenAction")] = _javascript()
    if launch:
        _annotation(writer, "/Link", A=_action("/Launch", F=TextStringObject("calc.exe")))
    if attachment:
        writer.add_attachment("notes.txt", b"attached")
    if link:
        _annotation(writer, "/Link", A=_action("/URI", URI=TextStringObject("https://gov.kz/")))
    if where:
        _hide_javascript(writer, where)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-256")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _hide_javascript(writer: PdfWriter, where: str) -> None:
    root = writer._root_object
    if where == "page_aa":
        writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): _javascript()})
    elif where == "names":
        tree = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("a"), _javascript()])}
        )
        root[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): writer._add_object(tree)}
        )
    elif where == "next":
        go_to = _action("/GoTo", D=ArrayObject([writer.pages[0].indirect_reference]))
        go_to[NameObject("/Next")] = writer._add_object(_javascript())
        root[NameObject("/OpenAction")] = go_to
    elif where == "file_annotation":
        _annotation(writer, "/FileAttachment", Contents=TextStringObject("a note"))
    elif where == "outline":
        item = DictionaryObject(
            {NameObject("/Title"): TextStringObject("Start"), NameObject("/A"): _javascript()}
        )
        reference = writer._add_object(item)
        outlines = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Outlines"),
                NameObject("/First"): reference,
                NameObject("/Last"): reference,
                NameObject("/Count"): NumberObject(1),
            }
        )
        item[NameObject("/Parent")] = writer._add_object(outlines)
        root[NameObject("/Outlines")] = item[NameObject("/Parent")]
    elif where == "js_key":
        root[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
    elif where == "js_action":
        root[NameObject("/OpenAction")] = _action("/JavaScript")
    elif where in ("js_names", "embedded_names"):
        empty = DictionaryObject({NameObject("/Names"): ArrayObject()})
        tree = "/JavaScript" if where == "js_names" else "/EmbeddedFiles"
        root[NameObject("/Names")] = DictionaryObject({NameObject(tree): empty})
    elif where == "embedded_link":
        stream = StreamObject()
        stream.set_data(b"hello")
        spec = DictionaryObject(
            {
                NameObject("/F"): TextStringObject("other.pdf"),
                NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)}),
            }
        )
        target = ArrayObject([NumberObject(0), NameObject("/Fit")])
        _annotation(writer, "/Link", A=_action("/GoToR", F=spec, D=target))
    elif where == "goto_embedded":
        target = DictionaryObject(
            {NameObject("/R"): NameObject("/C"), NameObject("/N"): TextStringObject("a")}
        )
        root[NameObject("/OpenAction")] = _action(
            "/GoToE", T=target, D=ArrayObject([NumberObject(0), NameObject("/Fit")])
        )
    else:
        raise ValueError(where)


def big_pdf(size_bytes: int) -> bytes:
    """A valid one-page PDF of at least `size_bytes`, its content stream padded with a comment."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    content = StreamObject()
    content.set_data(b"%" + b"x" * max(0, size_bytes) + b"\n")
    page[NameObject("/Contents")] = writer._add_object(content)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


@cache
def scanned_pdf(
    pages: int = 10, width: int = 2480, height: int = 1754, sigma: float = 10.5
) -> bytes:
    """A PDF of photographed pages, each a noisy JPEG (DCTDecode) as a scanner app writes.

    With the defaults about 10 MB: ten pages of about 1 MB.
    """
    writer = PdfWriter()
    photo = jpeg(image=noise(width, height, sigma), quality=85)
    for number in range(pages):
        page = writer.add_blank_page(width=842, height=595)
        image = StreamObject()
        image._data = photo
        image.update(
            {
                NameObject("/Type"): NameObject("/XObject"),
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(width),
                NameObject("/Height"): NumberObject(height),
                NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
                NameObject("/BitsPerComponent"): NumberObject(8),
                NameObject("/Filter"): NameObject("/DCTDecode"),
            }
        )
        name = NameObject(f"/Im{number}")
        page[NameObject("/Resources")] = DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject({name: writer._add_object(image)}),
            }
        )
        content = StreamObject()
        content.set_data(f"q 842 0 0 595 0 0 cm {name} Do Q".encode())
        page[NameObject("/Contents")] = writer._add_object(content)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def broken_pdf() -> bytes:
    """A PDF header followed by garbage: no objects, no cross-reference table."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"


def pdf_without_pages() -> bytes:
    writer = PdfWriter()
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


# Office -------------------------------------------------------------------------------


def _content_types(overrides: dict[str, str], defaults: dict[str, str] | None = None) -> bytes:
    defaults = {
        "rels": "application/vnd.openxmlformats-package.relationships+xml",
        "xml": "application/xml",
        **(defaults or {}),
    }
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
        *(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in defaults.items()),
        *(f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides.items()),
        "</Types>",
    ]
    return "".join(lines).encode()


def relationships(*items: tuple[str, str, str | None]) -> bytes:
    """A .rels part of (type, target, target mode) triples; short types get the usual prefix."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">',
    ]
    for number, (kind, target, mode) in enumerate(items, 1):
        kind = kind if "://" in kind else f"{RELATIONSHIPS}/{kind}"
        extra = f' TargetMode="{mode}"' if mode else ""
        lines.append(f'<Relationship Id="rId{number}" Type="{kind}" Target="{target}"{extra}/>')
    lines.append("</Relationships>")
    return "".join(lines).encode()


def package(parts: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of these parts, in this order."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return output.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def docx_parts(
    main_type: str = DOCX_MAIN,
    document_relationships: tuple = (),
    extra_parts: dict[str, bytes] | None = None,
    extra_types: dict[str, str] | None = None,
    extra_defaults: dict[str, str] | None = None,
) -> dict[str, bytes]:
    """The parts of a minimal Word document, for tests that change one thing in it."""
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}">'
        "<w:body><w:p><w:r><w:t>Жоба сметасы</w:t></w:r></w:p></w:body></w:document>"
    )
    return {
        "[Content_Types].xml": _content_types(
            {"word/document.xml": main_type, **(extra_types or {})}, extra_defaults
        ),
        "_rels/.rels": relationships(("officeDocument", "word/document.xml", None)),
        "word/document.xml": document.encode(),
        "word/_rels/document.xml.rels": relationships(*document_relationships),
        **(extra_parts or {}),
    }


def docx(external_template: bool = False, hyperlink: bool = False, macros: bool = False) -> bytes:
    """A minimal DOCX; external_template attaches a template on a web server (as phishing
    documents do), hyperlink adds an ordinary web link, macros makes it a .docm."""
    links: list = []
    parts: dict[str, bytes] = {}
    types: dict[str, str] = {}
    defaults: dict[str, str] = {}
    if hyperlink:
        links.append(("hyperlink", "https://gov.kz/", "External"))
    if external_template:
        links.append(("settings", "settings.xml", None))
        settings = (
            f'<?xml version="1.0"?><w:settings xmlns:w="{_W}"><w:attachedTemplate/></w:settings>'
        )
        parts["word/settings.xml"] = settings.encode()
        parts["word/_rels/settings.xml.rels"] = relationships(
            ("attachedTemplate", "https://evil.example/template.dotm", "External")
        )
        types["word/settings.xml"] = (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"
        )
    if macros:
        links.append(
            (
                "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                "vbaProject.bin",
                None,
            )
        )
        parts["word/vbaProject.bin"] = OLE_HEADER + bytes(504)
        defaults["bin"] = "application/vnd.ms-office.vbaProject"
    return package(
        docx_parts(DOCM_MAIN if macros else DOCX_MAIN, tuple(links), parts, types, defaults)
    )


def xlsx_parts(
    main_type: str = XLSX_MAIN,
    workbook_relationships: tuple = (),
    extra_parts: dict[str, bytes] | None = None,
    extra_types: dict[str, str] | None = None,
    extra_defaults: dict[str, str] | None = None,
) -> dict[str, bytes]:
    """The parts of a minimal Excel workbook of one sheet."""
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{_S}" '
        f'xmlns:r="{RELATIONSHIPS}"><sheets><sheet name="Смета" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>"
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_S}">'
        '<sheetData><row r="1"><c r="A1"><v>2026</v></c></row></sheetData></worksheet>'
    )
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    return {
        "[Content_Types].xml": _content_types(
            {
                "xl/workbook.xml": main_type,
                "xl/worksheets/sheet1.xml": sheet_type,
                **(extra_types or {}),
            },
            extra_defaults,
        ),
        "_rels/.rels": relationships(("officeDocument", "xl/workbook.xml", None)),
        "xl/workbook.xml": workbook.encode(),
        "xl/_rels/workbook.xml.rels": relationships(
            ("worksheet", "worksheets/sheet1.xml", None), *workbook_relationships
        ),
        "xl/worksheets/sheet1.xml": sheet.encode(),
        **(extra_parts or {}),
    }


def xlsx(external_link: bool = False, macros: bool = False) -> bytes:
    """A minimal XLSX; external_link adds a link to another workbook (xl/externalLinks),
    macros makes it an .xlsm with a VBA project."""
    links: list = []
    parts: dict[str, bytes] = {}
    types: dict[str, str] = {}
    defaults: dict[str, str] = {}
    if external_link:
        links.append(("externalLink", "externalLinks/externalLink1.xml", None))
        parts["xl/externalLinks/externalLink1.xml"] = (
            f'<externalLink xmlns="{_S}"><externalBook xmlns:r="{RELATIONSHIPS}" r:id="rId1"/>'
            "</externalLink>"
        ).encode()
        parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = relationships(
            ("externalLinkPath", "file:///\\\\server\\share\\budget.xlsx", "External")
        )
        types["xl/externalLinks/externalLink1.xml"] = (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"
        )
    if macros:
        links.append(
            (
                "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                "vbaProject.bin",
                None,
            )
        )
        parts["xl/vbaProject.bin"] = OLE_HEADER + bytes(504)
        defaults["bin"] = "application/vnd.ms-office.vbaProject"
    return package(
        xlsx_parts(XLSM_MAIN if macros else XLSX_MAIN, tuple(links), parts, types, defaults)
    )


@cache
def zip_bomb() -> bytes:
    """A DOCX whose one extra part unpacks from about 50 KB to 50 MB of zeros (1000:1)."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in docx_parts().items():
            archive.writestr(name, data)
        with archive.open("word/media/image1.png", "w") as entry:
            block = bytes(1 << 20)
            for _ in range(50):
                entry.write(block)
    return output.getvalue()


@cache
def zip_bomb_total() -> bytes:
    """A DOCX of 201 parts of 1 MiB of zeros each: no one part over the ratio rule's floor,
    201 MiB in all (over the 200 MiB limit)."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in docx_parts().items():
            archive.writestr(name, data)
        block = bytes(1 << 20)
        for number in range(201):
            archive.writestr(f"word/media/filler{number}.bin", block)
    return output.getvalue()


def many_entries(count: int = 2001) -> bytes:
    """A DOCX with `count` tiny extra parts."""
    extra = {f"word/media/p{number}.txt": b"x" for number in range(count)}
    return package(docx_parts(extra_parts=extra))


def zip_with_name(name: str, parts: dict[str, bytes] | None = None) -> bytes:
    """A DOCX (or these parts) with one more entry of exactly this name, which zipfile
    would otherwise clean."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in (parts or docx_parts()).items():
            archive.writestr(part, data)
        info = zipfile.ZipInfo("placeholder")
        info.filename = info.orig_filename = name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Duplicate name", when meant
            archive.writestr(info, b"x")
    return output.getvalue()


def plain_zip() -> bytes:
    return package({"readme.txt": b"hello", "photo.jpg": jpeg()})


def broken_docx() -> bytes:
    """A DOCX cut short: its central directory (at the end of a ZIP) is gone."""
    data = docx()
    return data[: len(data) // 2]


def docx_bad_crc() -> bytes:
    """A DOCX whose picture's bytes were changed after their CRC was written."""
    parts = {**docx_parts(), "word/media/image1.png": png()}
    data = bytearray(package(parts, compression=zipfile.ZIP_STORED))
    data[data.index(b"IHDR") + 6] ^= 0x01
    return bytes(data)


def docx_encrypted_entry() -> bytes:
    """A DOCX with one entry flagged as encrypted with a ZIP password (Office never does)."""
    data = bytearray(package({**docx_parts(), "word/media/image1.png": png()}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.rfind(signature)  # the last entry's local and central headers
        data[at + offset] |= 0x01
    return bytes(data)


# Other kinds, refused by their bytes ----------------------------------------------------


def exe() -> bytes:
    """The start of a Windows program (MZ, then a PE header)."""
    header = bytearray(b"MZ" + bytes(126))
    header[0x3C:0x40] = struct.pack("<I", 0x80)
    return bytes(header) + b"PE\x00\x00" + bytes(400)


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + bytes(57) + bytes(200)


def svg() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
    )


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def rtf() -> bytes:
    return rb"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Hello\par}"


def ole() -> bytes:
    """An OLE compound file header, as old .doc/.xls and encrypted DOCX/XLSX files start."""
    return OLE_HEADER + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + bytes(4096)


def seven_zip() -> bytes:
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(200)


def mp4() -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(200)


def random_bytes(size: int = 4096) -> bytes:
    """Random bytes that start like nothing in particular."""
    data = bytearray(os.urandom(size))
    data[0] = 0x42  # not FF, %, P, \x89 or \x00: never a JPEG, PDF, ZIP, PNG or ftyp box
    return bytes(data)


# Polyglots ----------------------------------------------------------------------------


def polyglot_jpeg_zip() -> bytes:
    """A JPEG with a ZIP archive appended after its end marker (opens as both)."""
    return jpeg() + plain_zip()


def polyglot_png_zip() -> bytes:
    return png() + plain_zip()


def polyglot_pdf_zip() -> bytes:
    """A PDF with a ZIP archive appended: a PDF viewer and an unzip tool both open it."""
    return pdf() + plain_zip()


def polyglot_docx_pdf() -> bytes:
    """A DOCX whose first (stored) part holds a PDF header within the first kilobyte."""
    parts = {"a.txt": b"%PDF-1.7\n1 0 obj<<>>endobj\n", **docx_parts()}
    return package(parts, compression=zipfile.ZIP_STORED)


def docx_with_trailer() -> bytes:
    """A DOCX with other bytes appended after its ZIP end record."""
    return docx() + b"<html><script>alert(1)</script></html>"
