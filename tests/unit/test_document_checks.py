"""kiosk.documents.checks: what a file is by its bytes, what is refused, what is kept.

Samples come from tests/documents_samples.py. Each test changes one thing, so that it
fails when the one rule it is about is taken out.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import resource
import struct
import time
import unicodedata

import pytest
from PIL import Image

from kiosk.competition import Documents
from kiosk.documents import checks, images, office, pdfs
from kiosk.documents.checks import Cleaned, Problem, Refused, clean_name, inspect
from tests import documents_samples as samples


def refused(data: bytes, filename: str = "file.bin") -> Problem:
    with pytest.raises(Refused) as caught:
        inspect(data, filename)
    return caught.value.problem


def jpeg_markers(data: bytes) -> set[int]:
    """The JPEG's segment markers up to the first scan (where metadata lives)."""
    markers, position = set(), 2
    while data[position + 1] != 0xDA:
        marker = data[position + 1]
        markers.add(marker)
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        chunks.append(data[position + 4 : position + 8])
        position += 12 + length
    return chunks


def opened(cleaned: Cleaned) -> Image.Image:
    image = Image.open(io.BytesIO(cleaned.data))
    image.load()
    return image


# Accepted -----------------------------------------------------------------------------

GOOD = {
    "jpeg": (samples.jpeg, "photo.JPG", Documents.JPEG, ".jpg"),
    "png with alpha": (lambda: samples.png(alpha=True), "scan.png", Documents.PNG, ".png"),
    "heic": (samples.heic, "IMG_0001.HEIC", Documents.JPEG, ".jpg"),
    "pdf": (samples.pdf, "смета.pdf", Documents.PDF, ".pdf"),
    "docx": (samples.docx, "letter.docx", Documents.DOCX, ".docx"),
    "xlsx": (samples.xlsx, "budget.xlsx", Documents.XLSX, ".xlsx"),
}


@pytest.mark.parametrize("kind", GOOD)
def test_each_kind_is_accepted_with_its_media_type_name_size_and_hash(kind):
    make, filename, media_type, extension = GOOD[kind]
    cleaned = inspect(make(), filename)
    assert cleaned.media_type == media_type
    assert cleaned.media_type in Documents.MEDIA_TYPES
    assert cleaned.name == filename.rsplit(".", 1)[0] + extension
    assert cleaned.size == len(cleaned.data)
    assert cleaned.sha256 == hashlib.sha256(cleaned.data).hexdigest()


@pytest.mark.parametrize("make", [samples.pdf, samples.docx, samples.xlsx])
def test_documents_are_kept_byte_for_byte(make):
    data = make()
    assert inspect(data, "a").data == data


def test_the_type_comes_from_the_bytes_not_the_name():
    assert inspect(samples.pdf(), "budget.exe").name == "budget.pdf"
    assert inspect(samples.jpeg(), "notes.pdf").media_type == Documents.JPEG
    assert refused(samples.exe(), "invoice.pdf") is Problem.TYPE


def test_a_docx_whose_entries_filetype_does_not_recognise_is_read_by_its_main_part():
    parts = {"customXml/item1.xml": b"<a/>", "customXml/item2.xml": b"<b/>"}
    parts.update(samples.docx_parts())
    assert inspect(samples.package(parts), "a").media_type == Documents.DOCX


def test_the_main_part_not_filetype_decides_between_docx_and_xlsx():
    parts = {"word/readme.xml": b"<a/>", **samples.xlsx_parts()}  # filetype: "docx"
    assert inspect(samples.package(parts), "a").media_type == Documents.XLSX


def test_a_docx_with_an_ordinary_web_link_is_accepted():
    assert inspect(samples.docx(hyperlink=True), "a.docx").media_type == Documents.DOCX


def test_a_pdf_with_an_ordinary_web_link_is_accepted():
    assert inspect(samples.pdf(link=True, pages=3), "a.pdf").media_type == Documents.PDF


# Images: re-encoded without metadata, upright, scaled ------------------------------------


def test_a_phone_jpeg_loses_all_its_metadata():
    cleaned = inspect(samples.jpeg(exif=True, xmp=True, comment=True), "a.jpg")
    image = opened(cleaned)
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    for leaked in (b"Exif", b"GPS", samples.SERIAL.encode(), b"ICC_PROFILE", b"adobe:ns:meta"):
        assert leaked not in cleaned.data
    assert samples.COMMENT not in cleaned.data
    # JFIF header, tables, frame: no APP1 (EXIF, XMP), APP2 (ICC) or COM segment at all
    assert jpeg_markers(cleaned.data) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xDD}


def test_a_jpeg_loses_its_colour_profile():
    cleaned = inspect(samples.jpeg(icc=True, comment=True), "a.jpg")
    assert "icc_profile" not in opened(cleaned).info
    assert b"ICC_PROFILE" not in cleaned.data and samples.COMMENT not in cleaned.data
    assert jpeg_markers(cleaned.data) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xDD}


def test_a_jpeg_is_turned_upright_by_its_exif_orientation():
    cleaned = inspect(samples.jpeg(64, 48, exif=True), "a.jpg")  # orientation 6
    image = opened(cleaned)
    assert image.size == (48, 64)
    # Stored with red top-left; turned 90° clockwise the red corner is at the top right.
    assert image.getpixel((40, 8))[0] > 200
    assert image.getpixel((8, 8))[2] > 200


def test_a_large_image_is_scaled_to_the_longest_side_allowed():
    cleaned = inspect(samples.jpeg(5000, 2000, quality=50), "a.jpg")
    assert opened(cleaned).size == (3000, 1200)
    assert Documents.MAX_IMAGE_SIDE == 3000


def test_a_large_png_is_scaled_too():
    cleaned = inspect(samples.png(2000, 4000), "a.png")
    assert opened(cleaned).size == (1500, 3000)


def test_a_png_loses_its_text_chunks_and_profile_and_keeps_its_alpha():
    cleaned = inspect(samples.png(alpha=True, text=True, icc=True), "a.png")
    assert set(png_chunks(cleaned.data)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert b"Applicant" not in cleaned.data
    image = opened(cleaned)
    assert image.mode == "RGBA"
    assert image.getpixel((60, 40))[3] == 128


def test_a_heic_becomes_a_bare_jpeg():
    cleaned = inspect(samples.heic(), "IMG_0001.HEIC")
    image = opened(cleaned)
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (64, 48)
    assert not image.getexif()
    assert samples.SERIAL.encode() not in cleaned.data


def test_only_the_first_frame_of_an_animated_png_is_kept():
    cleaned = inspect(samples.animated_png(), "a.png")
    assert b"acTL" not in cleaned.data
    image = opened(cleaned)
    assert getattr(image, "n_frames", 1) == 1
    assert image.getpixel((5, 5)) == (255, 0, 0)


def test_a_palette_png_with_a_transparent_colour_keeps_its_transparency():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.paste(1, (0, 0, 4, 8))
    output = io.BytesIO()
    image.save(output, "PNG", transparency=1)
    cleaned = opened(inspect(output.getvalue(), "a.png"))
    assert cleaned.mode == "RGBA"
    assert cleaned.getpixel((1, 1))[3] == 0 and cleaned.getpixel((6, 1)) == (255, 0, 0, 255)


def test_a_cmyk_jpeg_comes_out_rgb():
    cleaned = inspect(samples.jpeg(image=Image.new("CMYK", (16, 16), (0, 255, 255, 0))), "a.jpg")
    image = opened(cleaned)
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_jpeg_with_unreadable_exif_is_kept_as_stored():
    cleaned = inspect(_bad_exif_jpeg(), "a.jpg")
    assert opened(cleaned).size == (64, 48)


def _bad_exif_jpeg() -> bytes:
    output = io.BytesIO()
    samples.picture().save(output, "JPEG", exif=b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff")
    return output.getvalue()


def test_heif_brands_filetype_does_not_know_are_read_and_avif_is_not():
    data = samples.heic()
    assert data[8:12] == b"heic"
    heix = data[:8] + b"heix" + data[12:].replace(b"heic", b"heix")
    assert inspect(heix, "a.heic").media_type == Documents.JPEG
    avif = data[:8] + b"avif" + data[12:].replace(b"heic", b"avif")
    assert refused(avif, "a.heic") is Problem.TYPE


def test_sixteen_bit_grey_keeps_its_brightness():
    image = opened(inspect(samples.png_grey16(), "a.png"))
    assert image.getpixel((1, 1)) == 40000 // 256


def test_an_image_that_grows_over_the_limit_when_cleaned_is_refused(monkeypatch):
    data = samples.palette_noise_png(300, 300)  # one byte a pixel in, three out
    monkeypatch.setattr(Documents, "MAX_FILE_BYTES", len(data) + 1000)
    assert refused(data, "a.png") is Problem.TOO_LARGE


# Refused: size and type ---------------------------------------------------------------


def test_an_empty_file_is_refused():
    assert refused(b"") is Problem.EMPTY


def test_a_file_over_the_size_limit_is_refused():
    data = samples.big_pdf(Documents.MAX_FILE_BYTES)
    assert len(data) > Documents.MAX_FILE_BYTES
    assert refused(data, "a.pdf") is Problem.TOO_LARGE


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    assert refused(b"%PDF-1.7\n" + bytes(Documents.MAX_FILE_BYTES)) is Problem.TOO_LARGE


def _pptx() -> bytes:
    return samples.package(samples.docx_parts(main_type=samples.PPTX_MAIN))


OTHER_KINDS = {
    "exe": samples.exe,
    "elf": samples.elf,
    "svg": samples.svg,
    "html": samples.html,
    "gif": samples.gif,
    "webp": samples.webp,
    "bmp": samples.bmp,
    "plain zip": samples.plain_zip,
    "old office or encrypted docx (ole)": samples.ole,
    "rtf": samples.rtf,
    "7z": samples.seven_zip,
    "mp4": samples.mp4,
    "random bytes": samples.random_bytes,
    "pptx": _pptx,
    "text": lambda: "Жоба сметасы\n".encode(),
}


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_other_kinds_are_refused_by_their_bytes(kind):
    assert refused(OTHER_KINDS[kind](), "document.pdf") is Problem.TYPE


# Refused: polyglots -------------------------------------------------------------------

POLYGLOTS = {
    "jpeg + zip": samples.polyglot_jpeg_zip,
    "png + zip": samples.polyglot_png_zip,
    "pdf + zip": samples.polyglot_pdf_zip,
    "docx + pdf header": samples.polyglot_docx_pdf,
    "docx + bytes after its end": samples.docx_with_trailer,
    "docx and xlsx in one": lambda: samples.package(
        samples.docx_parts(extra_types={"xl/workbook.xml": samples.XLSX_MAIN})
    ),
}


@pytest.mark.parametrize("kind", POLYGLOTS)
def test_a_file_with_two_kinds_of_content_is_refused(kind):
    assert refused(POLYGLOTS[kind]()) is Problem.MIXED


# A phone's own trailer is not a second file ----------------------------------------------

PHONE_TRAILERS = {
    "motion photo (an MP4 after the picture)": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"
    + b"mp42isom"
    + bytes(200),
    "Samsung's motion photo marker": b"MotionPhoto_Data" + bytes(64),
    "a multi-picture file (a second JPEG)": samples.jpeg(width=32, height=32),
    "zero padding": bytes(128),
}


@pytest.mark.parametrize("kind", PHONE_TRAILERS)
def test_a_phone_photo_with_its_own_trailer_is_taken_and_the_trailer_dropped(kind):
    photo = samples.jpeg(width=200, height=100, exif=True)
    kept = checks.inspect(photo + PHONE_TRAILERS[kind], "IMG_0001.jpg")
    assert kept.media_type == "image/jpeg"
    assert PHONE_TRAILERS[kind][-24:] not in kept.data and kept.data.endswith(b"\xff\xd9")


# Refused: damaged ---------------------------------------------------------------------

DAMAGED = {
    "truncated jpeg": samples.truncated_jpeg,
    "jpeg header only": lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20),
    "truncated png (chunks intact)": samples.truncated_png,
    "png without IEND": lambda: samples.png()[:-12],
    "heic cut short": lambda: samples.heic()[:200],
    "garbage after a pdf header": samples.broken_pdf,
    "pdf without pages": samples.pdf_without_pages,
    "pdf cut in half": lambda: samples.pdf(pages=3)[:300],
    "docx cut short": samples.broken_docx,
    "docx with a bad crc": samples.docx_bad_crc,
    "docx with a password-encrypted entry": samples.docx_encrypted_entry,
    "docx without its main part": lambda: samples.package(
        {k: v for k, v in samples.docx_parts().items() if k != "word/document.xml"}
    ),
    "docx with ill-formed xml": lambda: samples.package(
        {**samples.docx_parts(), "word/document.xml": b"<w:document><w:body>"}
    ),
    "content types with a dtd (billion laughs)": lambda: samples.package(
        {
            **samples.docx_parts(),
            "[Content_Types].xml": b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;">]><Types xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/content-types">&b;</Types>',
        }
    ),
}


@pytest.mark.parametrize("kind", DAMAGED)
def test_a_file_that_does_not_open_is_damaged(kind):
    assert refused(DAMAGED[kind]()) is Problem.DAMAGED


@pytest.mark.parametrize(
    "name", ["../evil.xml", "word/../../evil.xml", "/etc/evil.xml", "word\\evil.xml", "C:/e.xml"]
)
def test_a_package_with_a_climbing_or_absolute_entry_name_is_damaged(name):
    assert refused(samples.zip_with_name(name)) is Problem.DAMAGED


def test_a_package_with_one_name_twice_is_damaged():
    parts = {**samples.docx_parts(), "word/media/image1.png": samples.png()}
    assert inspect(samples.package(parts), "a").media_type == Documents.DOCX
    for twice in ("word/media/image1.png", "WORD/media/Image1.PNG"):
        assert refused(samples.zip_with_name(twice, parts)) is Problem.DAMAGED


def test_a_package_with_a_nul_in_an_entry_name_is_damaged():
    assert refused(samples.zip_with_name("word/evil.xml\x00.png")) is Problem.DAMAGED


ZIP_BOMBS = {
    "one part of 1000:1": samples.zip_bomb,
    "201 MiB in all": samples.zip_bomb_total,
    "too many entries": lambda: samples.many_entries(office.MAX_ENTRIES + 1),
}


def test_an_overlong_content_types_listing_is_damaged(monkeypatch):
    monkeypatch.setattr(office, "MAX_LISTING", 100)
    assert refused(samples.docx()) is Problem.DAMAGED


@pytest.mark.parametrize("kind", ZIP_BOMBS)
def test_zip_bombs_are_refused_without_unpacking_them(kind):
    data = ZIP_BOMBS[kind]()
    started = time.perf_counter()
    assert refused(data) is Problem.DAMAGED
    assert time.perf_counter() - started < 0.5


def test_a_package_just_under_the_entry_limit_is_accepted():
    data = samples.many_entries(office.MAX_ENTRIES - 10)
    assert inspect(data, "a").media_type == Documents.DOCX


# Refused: decompression bombs ---------------------------------------------------------


def test_a_decompression_bomb_is_refused_from_its_header():
    data = samples.png_bomb()  # 20000 × 20000, a few tens of KB
    assert len(data) < 100_000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    assert refused(data, "a.png") is Problem.TOO_MANY_PIXELS
    assert time.perf_counter() - started < 0.5
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown_kib < 50 * 1024


def test_the_own_pixel_count_holds_when_pillows_guard_is_off(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert refused(samples.png_bomb(), "a.png") is Problem.TOO_MANY_PIXELS


def test_pillows_decompression_bomb_warning_is_a_refusal(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # 64 × 48 is over it, not twice over
    assert refused(samples.jpeg(), "a.jpg") is Problem.TOO_MANY_PIXELS


def test_the_pixel_limit_lets_every_phone_photo_through():
    assert 50_000_000 < images.MAX_PIXELS <= 100_000_000
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS


# Refused: PDFs ------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["secret", ""])
def test_an_encrypted_pdf_is_refused_even_with_an_empty_password(password):
    assert refused(samples.pdf(password=password), "a.pdf") is Problem.PASSWORD


ACTIVE_PDFS = {
    "javascript on open": {"javascript": True},
    "launch action": {"launch": True},
    "embedded file": {"attachment": True},
    "javascript in a page's actions": {"where": "page_aa"},
    "javascript name tree": {"where": "names"},
    "javascript chained after a goto": {"where": "next"},
    "file attachment annotation": {"where": "file_annotation"},
    "javascript in a bookmark": {"where": "outline"},
    "a /JS entry alone": {"where": "js_key"},
    "a javascript action alone": {"where": "js_action"},
    "a javascript name tree alone": {"where": "js_names"},
    "an embedded files name tree alone": {"where": "embedded_names"},
    "an embedded file in a link's file spec": {"where": "embedded_link"},
    "a go-to-embedded action": {"where": "goto_embedded"},
}


@pytest.mark.parametrize("kind", ACTIVE_PDFS)
def test_a_pdf_that_runs_or_carries_something_is_refused(kind):
    assert refused(samples.pdf(**ACTIVE_PDFS[kind]), "a.pdf") is Problem.ACTIVE


def test_a_pdf_that_makes_pypdf_recurse_without_end_is_damaged(monkeypatch):
    def recurse(*_args, **_kwargs):
        raise RecursionError

    monkeypatch.setattr(pdfs, "PdfReader", recurse)
    assert refused(samples.pdf(), "a.pdf") is Problem.DAMAGED


def test_a_pdf_nested_too_deep_is_damaged_not_a_crash():
    body = b"[" * 50_000 + b"]" * 50_000
    data = (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Deep " + body + b" >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    assert refused(data, "a.pdf") is Problem.DAMAGED


def test_a_pdf_with_more_objects_than_the_walk_allows_is_damaged(monkeypatch):
    monkeypatch.setattr(pdfs, "MAX_NODES", 3)
    assert refused(samples.pdf(pages=5), "a.pdf") is Problem.DAMAGED


# Refused: Office macros and external links --------------------------------------------

VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CONTROL = "control"
MACRO_PACKAGES = {
    "docm": lambda: samples.docx(macros=True),
    "xlsm": lambda: samples.xlsx(macros=True),
    "a vbaProject.bin part only": lambda: samples.package(
        samples.docx_parts(extra_parts={"word/vbaProject.bin": samples.OLE_HEADER})
    ),
    "a macro-enabled main part only": lambda: samples.package(
        samples.docx_parts(main_type=samples.DOCM_MAIN)
    ),
    "an activeX part": lambda: samples.package(
        samples.docx_parts(extra_parts={"word/activeX/activeX1.xml": b"<ax/>"})
    ),
    "an activeX content type": lambda: samples.package(
        samples.docx_parts(extra_defaults={"ax": "application/vnd.ms-office.activeX+xml"})
    ),
    "a vbaProject relationship": lambda: samples.package(
        samples.docx_parts(document_relationships=((VBA, "vbaProject.bin", None),))
    ),
    "a control relationship": lambda: samples.package(
        samples.docx_parts(document_relationships=((CONTROL, "ctl1.xml", None),))
    ),
    "an excel 4 macro sheet": lambda: samples.package(
        samples.xlsx_parts(extra_parts={"xl/macrosheets/sheet1.xml": b"<m/>"})
    ),
    "an embedded OLE object (can wrap a program)": lambda: samples.package(
        samples.docx_parts(extra_parts={"word/embeddings/oleObject1.bin": samples.OLE_HEADER})
    ),
    "an OLE object content type": lambda: samples.package(
        samples.docx_parts(
            extra_defaults={"bin": "application/vnd.openxmlformats-officedocument.oleObject"}
        )
    ),
}


def test_a_chart_s_embedded_workbook_is_no_ole_object():
    """Word keeps a chart's data as an XLSX part in embeddings/: a document, not a program."""
    package = samples.package(
        samples.docx_parts(
            extra_parts={"word/embeddings/Microsoft_Excel_Worksheet.xlsx": samples.xlsx()}
        )
    )
    assert checks.inspect(package, "report.docx").media_type == Documents.DOCX


@pytest.mark.parametrize("kind", MACRO_PACKAGES)
def test_an_office_file_with_macros_or_activex_is_refused(kind):
    assert refused(MACRO_PACKAGES[kind]()) is Problem.MACROS


EXTERNALS = {
    "xlsx linked to another workbook": lambda: samples.xlsx(external_link=True),
    "docx with an attached template on a server": lambda: samples.docx(external_template=True),
    "an externalLinks part only": lambda: samples.package(
        samples.xlsx_parts(extra_parts={"xl/externalLinks/externalLink1.xml": b"<e/>"})
    ),
    "an externalLink content type only": lambda: samples.package(
        samples.xlsx_parts(
            extra_types={
                "xl/links/l1.xml": "application/vnd.openxmlformats-officedocument."
                "spreadsheetml.externalLink+xml"
            }
        )
    ),
    "a linked picture": lambda: samples.package(
        samples.docx_parts(
            document_relationships=(("image", "https://example.org/track.png", "External"),)
        )
    ),
    "a data connection": lambda: samples.package(
        samples.xlsx_parts(extra_parts={"xl/connections.xml": b"<connections/>"})
    ),
}


@pytest.mark.parametrize("kind", EXTERNALS)
def test_an_office_file_that_reaches_outside_itself_is_refused(kind):
    assert refused(EXTERNALS[kind]()) is Problem.EXTERNAL


# Nothing but Refused leaves inspect ---------------------------------------------------


@pytest.mark.parametrize("kind", GOOD)
def test_mangled_files_are_refused_or_accepted_never_an_unexpected_error(kind):
    original = GOOD[kind][0]()
    rng = random.Random(13)
    for _ in range(40):
        data = bytearray(original)
        if rng.random() < 0.5:
            del data[rng.randrange(1, len(data)) :]
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        with contextlib.suppress(Refused):
            inspect(bytes(data), "a")


def test_an_unexpected_error_in_a_reader_is_damaged(monkeypatch):
    def broken(_data):
        raise KeyError("a bug or a library's surprise")

    monkeypatch.setattr(office, "check", broken)
    assert refused(samples.docx()) is Problem.DAMAGED


def test_refused_carries_its_problem():
    error = Refused(Problem.MIXED)
    assert error.problem is Problem.MIXED and str(Problem.MIXED) == "mixed"
    assert checks.EXTENSIONS.keys() == set(Documents.MEDIA_TYPES)


# Names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "extension", "shown"),
    [
        ("../../etc/passwd", ".pdf", "passwd.pdf"),
        ("C:\\Users\\a\\..\\x.pdf", ".pdf", "x.pdf"),
        ("re\x00port.pdf", ".pdf", "report.pdf"),
        ("invoice\u202efdp.exe", ".pdf", "invoicefdp.pdf"),
        (
            "\u200fa\u200eb\u202ac\u202bd\u202ce\u202df\u2066g\u2067h\u2068i\u2069.pdf",
            ".pdf",
            "abcdefghi.pdf",
        ),
        ("zero\u200bwidth\ufeff.pdf", ".pdf", "zerowidth.pdf"),
        ("Жоба сметасы 2026.PDF", ".pdf", "Жоба сметасы 2026.pdf"),
        ("әғқңөұүһі ё Ё й.docx", ".docx", "әғқңөұүһі ё Ё й.docx"),
        ("е\u0308лка.xlsx", ".xlsx", "ёлка.xlsx"),
        ("IMG_0001.HEIC", ".jpg", "IMG_0001.jpg"),
        ("budget.exe", ".pdf", "budget.pdf"),
        ("scan", "pdf", "scan.pdf"),
        ("version 1.2", ".pdf", "version 1.2.pdf"),
        ("  my \t  report\n .pdf", ".pdf", "my report.pdf"),
        ("tab\tand\u00a0space.pdf", ".pdf", "tab and space.pdf"),
        (". . . .", ".pdf", "document.pdf"),
        ("...", ".pdf", "document.pdf"),
        ("", ".png", "document.png"),
        ("folder/", ".pdf", "document.pdf"),
        ("..hidden.jpeg", ".jpg", "hidden.jpg"),
    ],
)
def test_clean_name(given, extension, shown):
    assert clean_name(given, extension) == shown


def test_a_long_name_is_cut_in_its_stem_and_keeps_the_extension():
    name = clean_name("ә" * 300 + ".pdf", ".pdf")
    assert len(name) == Documents.NAME
    assert name == "ә" * (Documents.NAME - 4) + ".pdf"


def test_a_long_name_is_not_cut_between_an_emoji_and_its_skin_tone():
    stem = "a" * (Documents.NAME - 5) + "\U0001f44d\U0001f3fd" + "tail"
    assert clean_name(stem + ".pdf", ".pdf") == "a" * (Documents.NAME - 5) + ".pdf"


def test_a_long_name_is_not_cut_between_a_letter_and_its_accent():
    stem = "a" * (Documents.NAME - 5) + "ы\u0301" + "tail"  # ы́ has no composed form
    name = clean_name(stem + ".pdf", ".pdf")
    assert name == "a" * (Documents.NAME - 5) + ".pdf"
    assert not any(unicodedata.combining(c) for c in name)


def test_a_cleaned_file_gets_a_clean_name():
    cleaned = inspect(samples.pdf(), "C:\\fakepath\\Жоба\u202e.exe")
    assert cleaned.name == "Жоба.pdf"
