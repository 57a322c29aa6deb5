"""How long checking one supporting document takes: kiosk.documents.checks.inspect.

`python bench/documents.py` (option --runs, default 5) makes each sample in memory with
tests/documents_samples.py and times `inspect()` on it, in this process, `--runs` times
after one warm-up call:

1. a phone photo: 4000 × 3000 colour noise (which compresses worst) at JPEG quality 95,
   with EXIF GPS, a serial number and orientation 6, about 10 MB: decoded, turned,
   scaled to 3000 × 2250, re-encoded at quality 85;
2. the same photo with an ICC profile, so that its colours are converted to sRGB first;
3. a 48-megapixel photo (8000 × 6000), which JPEG draft mode decodes at half size;
4. an iPhone-sized HEIC (4032 × 3024, soft colour blobs), which becomes a JPEG;
5. a phone-screen-sized PNG with alpha (1170 × 2532, soft colour blobs), re-encoded;
6. a scanned PDF of about 10 MB (ten pages, each a 2480 × 1754 JPEG), kept as it is;
7. a 1000-page PDF, where the walk through every object is the work;
8. a DOCX of about 10 MB (20 MB of text XML, 14 photos), every entry unpacked for its CRC.

Then the memory of one call of each, in a child process of its own: the peak of Python's
allocations during the call (tracemalloc; Pillow's pixel buffers are not among them) and
how far the process's peak resident memory grew (VmHWM, which counts them).

It prints figures and asserts nothing. The ms are wall-clock times; other programs on the
machine raise them.
"""

# ruff: noqa: E402 (imports follow the sys.path fix)
from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on the path, where bench/queue.py would stand
# in for the standard library's `queue` module: take it off, and put the checkout first.
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))

import argparse
import io
import platform
import random
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from kiosk.documents.checks import inspect
from tests import documents_samples as samples

MB = 1_000_000
MiB = 1024 * 1024


def png_photo() -> bytes:
    """A phone-screen-sized RGBA PNG of soft colour blobs: the slow case for PNG."""
    output = io.BytesIO()
    samples.smooth_photo(1170, 2532).convert("RGBA").save(output, "PNG")
    return output.getvalue()


def many_pages_pdf(pages: int = 1000) -> bytes:
    return samples.pdf(pages=pages, link=True)


def big_docx(pictures: int = 14) -> bytes:
    """A DOCX of about 10 MB: 20 MB of text XML in random order, and photos of noise."""
    words = [
        "жоба",
        "сметасы",
        "әлеуметтік",
        "қызмет",
        "көмек",
        "мүгедектігі",
        "бар",
        "адамдар",
        "2026",
        "жыл",
    ]
    rng = random.Random(13)
    paragraphs, size = [], 0
    while size < 20 * MB:
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(5, 40)))
        paragraphs.append(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>")
        size += len(paragraphs[-1].encode())
    body = "".join(paragraphs)
    parts = samples.docx_parts()
    parts["word/document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{samples._W}">'
        f"<w:body>{body}</w:body></w:document>"
    ).encode()
    photo = samples.jpeg(image=samples.noise(1100, 800, 40.0), quality=90)
    for number in range(pictures):
        parts[f"word/media/image{number}.jpeg"] = photo
    return samples.package(parts)


CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "phone photo 4000×3000, q95, EXIF": (samples.phone_photo, "IMG_0001.JPG"),
    "the same with an ICC profile": (
        lambda: samples.jpeg(
            image=samples.noise(4000, 3000, 28.0), quality=95, exif=True, icc=True
        ),
        "IMG_0002.JPG",
    ),
    "48 MP photo 8000×6000, q80": (
        lambda: samples.jpeg(image=samples.noise(8000, 6000, 6.0), quality=80, exif=True),
        "IMG_0003.JPG",
    ),
    "HEIC 4032×3024": (
        lambda: samples.heic(image=samples.smooth_photo(4032, 3024)),
        "IMG_0004.HEIC",
    ),
    "PNG 1170×2532 with alpha, photo-like": (png_photo, "Screenshot.png"),
    "scanned PDF, 10 pages": (samples.scanned_pdf, "scan.pdf"),
    "PDF of 1000 pages": (many_pages_pdf, "report.pdf"),
    "DOCX with text and pictures": (big_docx, "letter.docx"),
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(runs: int, action: Callable[[], object]) -> list[float]:
    """Milliseconds of `runs` calls of `action`, after one call not counted (warm-up)."""
    action()
    samples_ms = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples_ms.append((time.perf_counter() - started) * 1000)
    return samples_ms


def status_mib(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its peak) of this process, from /proc/self/status.

    Not ru_maxrss: after exec Linux keeps the parent's peak in it, and the parent holds
    every sample.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)


def reset_peak() -> None:
    """Make VmHWM start again from the memory resident now (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def child(path: str, filename: str) -> None:
    """One inspect() of the file at `path`: print tracemalloc's peak and the growth of RSS."""
    data = Path(path).read_bytes()
    for make in (samples.jpeg, samples.png, samples.heic, samples.pdf, samples.docx):
        inspect(make(), "warm-up")  # libraries and codecs loaded before counting
    reset_peak()
    before = status_mib("VmRSS")
    tracemalloc.start()
    inspect(data, filename)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{traced / MiB:.1f} {status_mib('VmHWM') - before:.1f}")


def memory(data: bytes, filename: str) -> tuple[float, float]:
    """(tracemalloc peak MiB, RSS growth MiB) of one inspect() in a fresh process."""
    with tempfile.NamedTemporaryFile(suffix=".sample") as sample:
        sample.write(data)
        sample.flush()
        output = subprocess.run(
            [sys.executable, __file__, "--child", sample.name, filename],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    return float(output[0]), float(output[1])


def ms(value: float) -> str:
    return f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "NAME"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(*options.child)
        return
    print(
        f"nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"Pillow {version('pillow')}, pillow-heif {version('pillow-heif')}, "
        f"pypdf {version('pypdf')}, filetype {version('filetype')}, "
        f"{platform.system()} {platform.machine()}\n"
    )
    print(
        "| file | MB | kept MB | median ms | p90 ms | min ms | max ms | runs "
        "| Python peak MiB | RSS growth MiB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, (make, filename) in CASES.items():
        data = make()
        kept = inspect(data, filename)
        times = timed(options.runs, lambda data=data, filename=filename: inspect(data, filename))
        traced, grown = memory(data, filename)
        print(
            f"| {label} | {len(data) / MB:.1f} | {kept.size / MB:.1f} "
            f"| {ms(statistics.median(times))} | {ms(percentile(times, 0.9))} "
            f"| {ms(min(times))} | {ms(max(times))} | {len(times)} "
            f"| {traced:.1f} | {grown:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
