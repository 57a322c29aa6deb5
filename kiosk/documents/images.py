"""Photos and scans: decoded in full, turned upright, scaled down and re-encoded bare.

An image is the one kind of document we do not keep byte for byte. Decoding it proves it
is a picture, and encoding the pixels afresh drops whatever rode along: EXIF with the GPS
position and the camera's serial number, XMP, comments, PNG text chunks, an ICC profile
(the colours are first moved into sRGB by it, so nothing visible changes). A phone photo
shrinks on the way (its long side to Documents.MAX_IMAGE_SIDE), which a commission reading
on screen never misses. Only the first frame of an animation is kept.

Bytes after a JPEG's end marker or a PNG's IEND are a second file riding on the first (an
archive, a script): MIXED, although re-encoding would drop them. Phones' own trailers are
the exception, since a phone photo is what applicants send most: a "motion photo" (Google's
and Samsung's) carries a short MP4 after the picture, a multi-picture file (MPO) more JPEGs,
and some cameras pad with zeros. Those go with the re-encoding like the metadata does.

The limits guard the decoder: the header says how many pixels are coming, so a small file
that would unpack into gigabytes (a decompression bomb) is refused before it is decoded.
"""

from __future__ import annotations

import io
import re
import warnings

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageOps

from ..competition import Documents
from .checks import Problem, Refused

# Phones make 12-50 megapixels (48 MP is 8000 × 6000); 60 MP lets every one of them through
# and bounds a decode at about 240 MB (RGBA). Pillow warns above this and fails above twice it.
MAX_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

JPEG_QUALITY = 85
# Depth maps, auxiliary images and thumbnails inside a HEIC are never shown: do not decode them.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
# In a JPEG's entropy-coded data 0xFF is followed by 0x00 (a stuffed byte) or by a restart
# marker (0xD0-0xD7); anything else after it is the next marker.
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
_SRGB = ImageCms.createProfile("sRGB")


def is_heif(data: bytes) -> bool:
    """True for an HEIC/HEIF still image by its ftyp box (filetype knows only one brand of it).

    iPhones write major brand `heic`; Samsung's 10-bit photos `heix`, and others `mif1` with
    `heic` among the compatible brands. AVIF (brands `avif`, `mif1`) shares the container
    but not the codec, and is not among them.
    """
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    size = int.from_bytes(data[0:4], "big")
    if not 16 <= size <= min(len(data), 4096):
        return False
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, size - 3, 4)}
    return bool(brands & _HEIF_BRANDS)


def clean_jpeg(data: bytes) -> bytes:
    """A JPEG with nothing after its end but a phone's own trailer, re-encoded as a bare JPEG."""
    end = _jpeg_end(data)
    if end < len(data) and not _phone_trailer(data[end:]):
        raise Refused(Problem.MIXED)
    return _reencode(data, "JPEG")


# What phones and cameras put after a JPEG: an MP4's first box, Samsung's own marker, a
# further JPEG (MPO, Samsung's and Apple's depth or gain maps).
_PHONE_TRAILERS = (b"MotionPhoto_Data", b"\xff\xd8\xff")


def _phone_trailer(trailer: bytes) -> bool:
    """Whether bytes after a JPEG's end are a phone's video, further pictures or padding."""
    if not trailer.strip(b"\x00"):
        return True
    if len(trailer) >= 8 and trailer[4:8] == b"ftyp":  # ISO BMFF: the motion photo's MP4
        return True
    return trailer.startswith(_PHONE_TRAILERS)


def clean_png(data: bytes) -> bytes:
    """A PNG (or APNG, first frame) with nothing after IEND, re-encoded as a bare PNG."""
    if _png_end(data) < len(data):
        raise Refused(Problem.MIXED)
    return _reencode(data, "PNG")


def clean_heif(data: bytes) -> bytes:
    """An HEIC/HEIF photo, re-encoded as a bare JPEG (commission computers may not read HEIC)."""
    return _reencode(data, "HEIF")


def _jpeg_end(data: bytes) -> int:
    """The offset just after the JPEG's end-of-image marker, walking its segments.

    Walking segment by segment (not searching for FF D9) skips the EXIF thumbnail, which is a
    whole JPEG inside the APP1 segment. A file that ends before EOI is truncated.
    """
    position = 2  # after SOI
    while True:
        if position >= len(data) or data[position] != 0xFF:
            raise Refused(Problem.DAMAGED)
        while position < len(data) and data[position] == 0xFF:
            position += 1  # fill bytes
        if position >= len(data):
            raise Refused(Problem.DAMAGED)
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            return position
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        if position + 2 > len(data):
            raise Refused(Problem.DAMAGED)
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > len(data):
            raise Refused(Problem.DAMAGED)
        position += length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next marker
            found = _NEXT_MARKER.search(data, position)
            if found is None:
                raise Refused(Problem.DAMAGED)
            position = found.start()


def _png_end(data: bytes) -> int:
    """The offset just after the PNG's IEND chunk, walking its chunks."""
    position = 8  # after the signature
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        position += 12 + length  # length, type, data, CRC
        if position > len(data):
            break
        if kind == b"IEND":
            return position
    raise Refused(Problem.DAMAGED)


def _reencode(data: bytes, format: str) -> bytes:
    """The pixels only: decoded under the limits, upright, in sRGB, scaled, encoded afresh."""
    image = _decode(data, format)
    icc = image.info.get("icc_profile")
    image = _upright(image)
    image = _plain_mode(image, keep_alpha=format == "PNG")
    size = _scaled(image.size)
    if image.size != size:
        image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    image = _to_srgb(image, icc)
    return _encode(image, "PNG" if format == "PNG" else "JPEG")


def _decode(data: bytes, format: str) -> Image.Image:
    """Open as `format` only, count the pixels from the header, then decode every byte."""
    # Over Image.MAX_IMAGE_PIXELS Pillow only warns, and a warning here is a refusal.
    # catch_warnings swaps the process's filter list and threads may interleave; the own
    # count below does not depend on it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise Refused(Problem.TOO_MANY_PIXELS) from error
        except Exception as error:
            raise Refused(Problem.DAMAGED) from error
    # Our own count too: Image.MAX_IMAGE_PIXELS is one setting for the whole process.
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise Refused(Problem.TOO_MANY_PIXELS)
    if width < 1 or height < 1:
        raise Refused(Problem.DAMAGED)
    if format == "JPEG":
        image.draft("RGB", _scaled(image.size))  # DCT-scaled to 1/2, 1/4, 1/8 when still large
    try:
        image.load()  # every byte: a truncated file fails here (LOAD_TRUNCATED_IMAGES stays off)
    except Exception as error:
        raise Refused(Problem.DAMAGED) from error
    return image


def _scaled(size: tuple[int, int]) -> tuple[int, int]:
    """`size` with its long side at most Documents.MAX_IMAGE_SIDE, proportions kept."""
    width, height = size
    longest = max(width, height)
    if longest <= Documents.MAX_IMAGE_SIDE:
        return size
    ratio = Documents.MAX_IMAGE_SIDE / longest
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _upright(image: Image.Image) -> Image.Image:
    """Turned as the camera's EXIF orientation says (phones store portraits sideways)."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return image  # EXIF that does not parse: the picture as stored
    if orientation not in range(2, 9):
        return image
    return ImageOps.exif_transpose(image)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _plain_mode(image: Image.Image, keep_alpha: bool) -> Image.Image:
    """L, RGB, RGBA (a PNG with transparency) or CMYK (converted with its profile later)."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        if keep_alpha:
            return rgba
        background = Image.new("RGBA", image.size, "white")  # JPEG has no alpha: on paper
        background.alpha_composite(rgba)
        return background.convert("RGB")
    if image.mode in ("L", "RGB", "CMYK"):
        return image
    if image.mode.startswith("I;16"):  # 16-bit grey: keep the top 8 bits, not clip at 255
        return image.convert("I").point(lambda value: value / 256).convert("L")
    return image.convert("L" if image.mode == "1" else "RGB")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Colours moved into sRGB by their ICC profile, so that dropping it changes nothing seen.

    iPhones shoot in Display P3 and print shops send CMYK; without the profile those colours
    would look washed out or wrong. A profile that littleCMS cannot use is just dropped.
    """
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            output = "RGBA" if image.mode == "RGBA" else "RGB"
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode=output)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return image.convert("RGB") if image.mode == "CMYK" else image


def _encode(image: Image.Image, format: str) -> bytes:
    """The pixels alone: no EXIF, XMP, ICC profile, comment or text chunk is written."""
    image.info.clear()  # Pillow's encoders copy an ICC profile and a comment from here
    output = io.BytesIO()
    if format == "PNG":
        # zlib level 1: for a photo-like PNG six times faster than the default 6 (0.4 s
        # against 2.5 s for 1170 × 2532 here) and 17 % larger; screenshots differ little.
        image.save(output, "PNG", compress_level=1)
    else:
        image.save(output, "JPEG", quality=JPEG_QUALITY)
    return output.getvalue()
