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
