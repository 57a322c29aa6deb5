"""Every page, with everything it loads, weighs at most 30 KB (fonts apart), from our origin only.

Measured the way `make run` serves it (minified CSS and JS built first), on the web and on a
kiosk where the person chose high contrast, larger text and read aloud (the heaviest case).
The on-screen keyboard loads when a field takes focus, like read-aloud audio when asked for.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.helpers import every_page, post_step

BUDGET = 30 * 1024
ROOT = Path(__file__).resolve().parents[2]
LOADS = re.compile(r'<(?:link|script|img)\b[^>]*\b(?:href|src)="([^"]+)"')


@pytest.fixture(scope="module", autouse=True)
def minified_assets():
    spec = importlib.util.spec_from_file_location("build_assets", ROOT / "scripts/build_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build()


def _every_page(client, kiosk: bool) -> dict[str, bytes]:
    pages = {}
    if kiosk:
        pages["welcome"] = client.get("/kiosk?lang=kk").text
        pages["help"] = client.get("/kiosk/help").text
        post_step(
            client, "/kiosk/help", {"high_contrast": "y", "large_text": "y", "read_aloud": "y"}
        )
    pages.update(every_page(client))
    return {name: html.encode() for name, html in pages.items()}


@pytest.mark.parametrize("kiosk", [False, True], ids=["web", "kiosk"])
def test_every_page_stays_within_30_kb_from_our_origin(make_app, kiosk):
    app = make_app(KIOSK_MODE=kiosk)
    client = app.test_client()
    weights = {}
    for name, html in _every_page(client, kiosk).items():
        total = len(html)
        for url in LOADS.findall(html.decode()):
            if url.startswith("data:"):
                continue  # inline: already counted in the page
            if url.endswith(".woff2"):
                continue  # the two fonts, preloaded: exempt, like the CSS's url()s
            assert url.startswith("/") and not url.startswith("//"), (name, url)
            loaded = client.get(url)
            assert loaded.status_code == 200, (name, url)
            total += len(loaded.data)
            if url.endswith(".css"):  # what a stylesheet loads in turn (fonts are exempt)
                for inner in re.findall(r'url\("?([^")]+)"?\)', loaded.data.decode()):
                    assert inner.startswith(("../", "/", "data:")), (url, inner)
        weights[name] = total
    over = {name: size for name, size in weights.items() if size > BUDGET}
    assert not over, f"over {BUDGET} bytes: {over}"
    assert len(weights) >= 20


PRELOADS = re.compile(
    r'<link rel="preload" href="([^"]+)" as="font" type="font/woff2" crossorigin>'
)
STYLESHEETS = re.compile(r'<link rel="stylesheet" href="([^"]+)"[^>]*>')


@pytest.mark.parametrize("kiosk", [False, True], ids=["web", "kiosk"])
def test_every_page_loads_one_stylesheet_and_the_two_fonts_it_preloads(make_app, kiosk):
    """HTML, one CSS file and two fonts: four requests before any script a page needs.

    On the web the fonts are preloaded with the very URLs the stylesheet asks for (and
    `crossorigin`, as a font is fetched), so each comes once and early.
    """
    app = make_app(KIOSK_MODE=kiosk)
    client = app.test_client()
    for name, html in _every_page(client, kiosk).items():
        page = html.decode()
        sheets = STYLESHEETS.findall(page)
        assert len(sheets) == 1 and re.fullmatch(r"/static/min/css/base[a-z-]*\.css", sheets[0]), (
            name,
            sheets,
        )
        css = client.get(sheets[0]).data.decode()
        fonts = {
            "/static/" + url.removeprefix("../../")
            for url in re.findall(r'url\("?([^")]+\.woff2)"?\)', css)
        }
        assert len(fonts) == 2, (name, fonts)
        preloaded = [] if kiosk else sorted(fonts)  # a kiosk has them from its own node at once
        assert sorted(PRELOADS.findall(page)) == preloaded, (name, fonts)
        other = [u for u in LOADS.findall(page) if u not in {*sheets, *fonts} and u != "data:,"]
        assert all(u.endswith(".js") for u in other), (name, other)
