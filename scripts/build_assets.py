"""Minify static/css and static/js into static/min/ (rcssmin, rjsmin), for the 30 KB page budget.

Run by `make run` and `make test` (target `assets`). Templates ask for files through
`asset()`, which serves the minified copy when it exists and the source otherwise, so a
developer editing CSS sees changes without a build and the served pages stay small.
"""

from __future__ import annotations

from pathlib import Path

import rcssmin
import rjsmin

STATIC = Path(__file__).resolve().parent.parent / "static"


def build() -> list[tuple[str, int, int]]:
    sizes = []
    for source in sorted([*STATIC.glob("css/*.css"), *STATIC.glob("js/*.js")]):
        text = source.read_text(encoding="utf-8")
        if source.suffix == ".css":
            # One folder deeper: keep relative font URLs pointing at static/fonts/.
            small = rcssmin.cssmin(text).replace("url(../fonts/", "url(../../fonts/")
            small = small.replace('url("../fonts/', 'url("../../fonts/')
        else:
            small = rjsmin.jsmin(text)
        target = STATIC / "min" / source.relative_to(STATIC)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(small, encoding="utf-8")
        sizes.append((str(source.relative_to(STATIC)), len(text.encode()), len(small.encode())))
    return sizes


if __name__ == "__main__":
    for name, before, after in build():
        print(f"{name:28} {before:6} -> {after:6} bytes")
