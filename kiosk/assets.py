"""Static files by name: the minified copy from static/min/ when it has been built.

`make run` and `make test` build static/min/ (scripts/build_assets.py); without it the
source files are served, so editing CSS or JS needs no build while developing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Flask, current_app, url_for


@cache
def _minified(static_folder: str, filename: str) -> bool:
    return (Path(static_folder) / "min" / filename).is_file()


def asset(filename: str) -> str:
    """The URL of a file under static/, minified when available."""
    if _minified(current_app.static_folder, filename):
        return url_for("static", filename=f"min/{filename}")
    return url_for("static", filename=filename)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset"] = asset
