"""Static files by name: the minified copy from static/min/ when it has been built.

`make run` and `make test` build static/min/ (scripts/build_assets.py). A source file
edited after the build is served as it is until the next build, so editing CSS or JS
needs no build while developing.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, url_for


def _minified(static_folder: str, filename: str) -> bool:
    """Whether a built copy exists that is not older than its source (a stale one is skipped)."""
    built = Path(static_folder) / "min" / filename
    try:
        return built.stat().st_mtime >= (Path(static_folder) / filename).stat().st_mtime
    except FileNotFoundError:
        return False


def asset(filename: str) -> str:
    """The URL of a file under static/, minified when available."""
    if _minified(current_app.static_folder, filename):
        return url_for("static", filename=f"min/{filename}")
    return url_for("static", filename=filename)


# The parts a page may add to base.css, in the order they follow it (scripts/build_assets.py).
PARTS = ("web", "staff", "kiosk", "receipt", "documents")


def stylesheets(*parts: str) -> list[str]:
    """The stylesheet of a page: base.css and `parts` (web, staff, kiosk, receipt) as one file.

    The built file joins them (scripts/build_assets.py), so a page loads one stylesheet; until
    it is built, or once a source is newer, each source file is linked on its own.
    """
    wanted = [part for part in PARTS if part in parts]
    names = ["base", *wanted]
    built = "css/" + "-".join(names) + ".css"
    folder = Path(current_app.static_folder)
    try:
        fresh = all(
            (folder / "min" / built).stat().st_mtime >= (folder / f"css/{name}.css").stat().st_mtime
            for name in names
        )
    except FileNotFoundError:
        fresh = False
    if fresh:
        return [url_for("static", filename=f"min/{built}")]
    return [url_for("static", filename=f"css/{name}.css") for name in names]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset"] = asset
    app.jinja_env.globals["stylesheets"] = stylesheets
