"""The stylesheet's generated and repeated parts stay what they must be.

- The fallback font faces in static/css/web.css are what scripts/font_metrics.py computes
  (within 1 %, as the catalogs change) from the Noto Sans subset in static/fonts/ and the
  local fonts (skipped where Debian's fonts-liberation or fonts-dejavu-core are missing).
- High contrast is written twice in static/css/base.css, once for the system's "more contrast"
  wish and once for the theme chosen in the settings: the two must give the same colours.
- Noto Sans is shown only if it is in by the first paint (font-display: optional), so a font
  that comes late never moves a line.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSS = ROOT / "static" / "css"


def _font_metrics():
    spec = importlib.util.spec_from_file_location("font_metrics", ROOT / "scripts/font_metrics.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclass looks itself up there)
    spec.loader.exec_module(module)
    return module


def test_the_fallback_faces_are_the_computed_ones():
    metrics = _font_metrics()
    missing = [p for f in metrics.FALLBACKS for p in f.files.values() if not p.exists()]
    assert not missing, f"local fonts not installed (make test installs them): {missing}"
    # The texts change a little with every catalog update: the figures may drift by 1 %.
    figures = re.compile(r'font-family: "([^"]+)"; font-weight: (\d+).*?size-adjust: ([\d.]+)%')
    computed = figures.findall(metrics.faces().replace("\n", " "))
    written = figures.findall((CSS / "web.css").read_text(encoding="utf-8").replace("\n", " "))
    assert [face[:2] for face in written] == [face[:2] for face in computed]
    for ours, theirs in zip(written, computed, strict=True):
        assert float(ours[2]) == pytest.approx(float(theirs[2]), abs=1), ours


def test_the_fallback_faces_are_sized_like_noto_sans():
    """Sanity of the arithmetic: each local font is scaled within 20 % and keeps Noto's lines."""
    text = (CSS / "web.css").read_text(encoding="utf-8")
    faces = re.findall(r"size-adjust: ([\d.]+)%; ascent-override: ([\d.]+)%", text)
    assert len(faces) == 4
    for size, ascent in faces:
        assert 80 < float(size) < 120
        assert float(ascent) * float(size) / 100 == pytest.approx(106.9, abs=0.05)  # 1069/1000


def _blocks(text: str) -> tuple[str, str]:
    system = re.search(
        r"@media screen and \(prefers-contrast: more\) \{\s*:root \{(.*?)\}", text, re.S
    )
    chosen = re.search(r"@media screen \{\s*:root\.theme-high-contrast \{(.*?)\}", text, re.S)
    assert system and chosen
    return system.group(1), chosen.group(1)


def test_the_two_high_contrast_blocks_give_the_same_colours():
    system, chosen = _blocks((CSS / "base.css").read_text(encoding="utf-8"))
    assert system == chosen
    assert "--text: #ffffff;" in system and "--background: #000000;" in system


def test_web_fonts_never_swap_in_late():
    text = (CSS / "base.css").read_text(encoding="utf-8")
    displays = re.findall(r"font-display: (\w+);", text)
    assert displays == ["optional", "optional"]
