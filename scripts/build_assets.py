"""Minify static/css and static/js into static/min/ (rcssmin, rjsmin), for the 30 KB page budget.

Each page loads one stylesheet: base.css, followed by whichever of web.css, staff.css,
kiosk.css and receipt.css it needs (kiosk.assets.stylesheets picks them). Every such
combination is built here as one file: min/css/base-web.css, base-staff-kiosk.css and so on.

Run by `make run` and `make test` (target `assets`). Templates ask for files through
`asset()`, which serves the minified copy when it exists and the source otherwise, so a
developer editing CSS sees changes without a build and the served pages stay small.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import rcssmin
import rjsmin

STATIC = Path(__file__).resolve().parent.parent / "static"
# The parts a page adds to base.css, in the order they follow it (kiosk/assets.py).
PARTS = ("web", "staff", "kiosk", "receipt", "documents")


def bundle_name(parts) -> str:
    return "-".join(["base", *(part for part in PARTS if part in parts)]) + ".css"


def _css(text: str) -> str:
    # One folder deeper: keep relative font URLs pointing at static/fonts/.
    small = rcssmin.cssmin(text).replace("url(../fonts/", "url(../../fonts/")
    small = small.replace('url("../fonts/', 'url("../../fonts/')
    return re.sub(r"#([0-9a-f])\1([0-9a-f])\2([0-9a-f])\3\b", r"#\1\2\3", small)  # #ffffff: #fff


def build() -> list[tuple[str, int, int]]:
    sizes = []
    # A built copy whose source is gone (a stylesheet folded into base.css) goes too.
    for built in [*STATIC.glob("min/css/*.css"), *STATIC.glob("min/js/*.js")]:
        if not (STATIC / built.relative_to(STATIC / "min")).exists() and "-" not in built.name:
            built.unlink()
    for source in sorted([*STATIC.glob("css/*.css"), *STATIC.glob("js/*.js")]):
        text = source.read_text(encoding="utf-8")
        small = _css(text) if source.suffix == ".css" else rjsmin.jsmin(text)
        target = STATIC / "min" / source.relative_to(STATIC)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(small, encoding="utf-8")
        sizes.append((str(source.relative_to(STATIC)), len(text.encode()), len(small.encode())))
    for n in range(1, len(PARTS) + 1):
        for parts in combinations(PARTS, n):
            if "web" in parts and "kiosk" in parts:
                continue  # a page is one or the other
            names = ["base", *parts]
            text = "\n".join(
                (STATIC / f"css/{name}.css").read_text(encoding="utf-8") for name in names
            )
            small = _css(text)
            (STATIC / "min/css" / bundle_name(parts)).write_text(small, encoding="utf-8")
            sizes.append((f"css/{bundle_name(parts)}", len(text.encode()), len(small.encode())))
    return sizes


if __name__ == "__main__":
    for name, before, after in build():
        print(f"{name:28} {before:6} -> {after:6} bytes")
