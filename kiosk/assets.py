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


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset"] = asset
