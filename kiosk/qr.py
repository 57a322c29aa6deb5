"""QR codes for receipts: the status page's address, to check from a phone at home."""

from __future__ import annotations

import segno
from markupsafe import Markup


def svg(data: str, title: str) -> Markup:
    """An inline SVG QR code with an accessible name; no style attributes (the CSP forbids them)."""
    code = segno.make(data, error="m")
    markup = code.svg_inline(scale=4, title=title, dark="#000", light="#fff", svgclass="qr")
    return Markup(markup.replace("<svg ", '<svg role="img" ', 1))
