"""The fallback font faces in static/css/web.css: local fonts sized to take Noto Sans's room.

Until the page's own fonts (static/fonts/, Noto Sans cut down by scripts/build-fonts.sh) are
in, a page is drawn in a local font. Each fallback face below is that local font with
`size-adjust` (so that a line of our texts is as long as in Noto Sans) and the ascent, descent
and line gap of Noto Sans, so a line is as high, and nothing moves if Noto Sans arrives.

The widths are averaged over the texts people read: every msgstr of the kk, ru and en catalogs
(translations/*/LC_MESSAGES/messages.po), each character as often as it occurs there; a
character the local font does not have is left out of its average. Arial's figures are
computed from Liberation Sans, made with Arial's metrics (the same advance widths).

    .venv/bin/python scripts/font_metrics.py        # prints the @font-face blocks

tests/unit/test_stylesheet.py checks that static/css/web.css holds exactly what this prints.
Needs fontTools (the dev extra) and Debian's fonts-liberation and fonts-dejavu-core.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    400: ROOT / "static/fonts/noto-sans-regular.woff2",
    700: ROOT / "static/fonts/noto-sans-bold.woff2",
}
CATALOGS = sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
TRUETYPE = Path("/usr/share/fonts/truetype")


@dataclass(frozen=True)
class Fallback:
    family: str  # the face's name in our font stack
    files: dict[int, Path]  # the local font measured, per weight
    local: dict[int, list[str]]  # the names local() looks for, per weight


FALLBACKS = [
    Fallback(
        "Kiosk Sans Arial",  # Windows, macOS, iOS; Linux with fonts-liberation
        {
            400: TRUETYPE / "liberation/LiberationSans-Regular.ttf",
            700: TRUETYPE / "liberation/LiberationSans-Bold.ttf",
        },
        {
            400: ["Arial", "ArialMT", "Liberation Sans", "LiberationSans-Regular"],
            700: ["Arial Bold", "Arial-BoldMT", "Liberation Sans Bold", "LiberationSans-Bold"],
        },
    ),
    Fallback(
        "Kiosk Sans DejaVu",  # Debian's and most Linux kiosks' default sans-serif
        {
            400: TRUETYPE / "dejavu/DejaVuSans.ttf",
            700: TRUETYPE / "dejavu/DejaVuSans-Bold.ttf",
        },
        {400: ["DejaVu Sans", "DejaVuSans"], 700: ["DejaVu Sans Bold", "DejaVuSans-Bold"]},
    ),
]

_MSGSTR = re.compile(r'^msgstr(?:\[\d+\])? "(.*)"$|^"(.*)"$', re.M)


def sample() -> Counter[str]:
    """How often each character occurs in what the pages say, in every language."""
    counts: Counter[str] = Counter()
    for catalog in CATALOGS:
        text = catalog.read_text(encoding="utf-8")
        for block in text.split("\n\n"):
            if "msgstr" not in block:
                continue
            translated = block[block.index("msgstr") :]
            for first, more in _MSGSTR.findall(translated):
                line = (first or more).replace("\\n", " ").replace('\\"', '"')
                counts.update(re.sub(r"%\(\w+\)[sd]|<[^>]+>", "", line))
    return counts


def _widths(font: TTFont) -> tuple[dict[str, float], float]:
    cmap, metrics = font.getBestCmap(), font["hmtx"].metrics
    em = font["head"].unitsPerEm
    return {chr(code): metrics[glyph][0] / em for code, glyph in cmap.items()}, em


def _percent(value: float) -> str:
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def face(fallback: Fallback, weight: int, counts: Counter[str]) -> str:
    ours = TTFont(OURS[weight])
    theirs = TTFont(fallback.files[weight])
    our_widths, em = _widths(ours)
    their_widths, _ = _widths(theirs)
    shared = [c for c in counts if c in our_widths and c in their_widths]
    size = sum(counts[c] * our_widths[c] for c in shared) / sum(
        counts[c] * their_widths[c] for c in shared
    )
    hhea = ours["hhea"]
    sources = ", ".join(f'local("{name}")' for name in fallback.local[weight])
    return (
        "@font-face {\n"
        f'  font-family: "{fallback.family}"; font-weight: {weight}; src: {sources};\n'
        f"  size-adjust: {_percent(size)}; ascent-override: {_percent(hhea.ascent / em / size)};"
        f" descent-override: {_percent(-hhea.descent / em / size)};"
        f" line-gap-override: {_percent(hhea.lineGap / em / size)};\n"
        "}"
    )


def faces() -> str:
    counts = sample()
    return "\n".join(face(f, weight, counts) for f in FALLBACKS for weight in (400, 700))


if __name__ == "__main__":
    print(faces())
