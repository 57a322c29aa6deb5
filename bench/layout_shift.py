"""Layout shift, requests and bytes of every page, on an emulated slow phone.

`python bench/layout_shift.py` serves the app as the browser suite does (waitress behind nginx
over HTTPS, tests/browser/conftest.py), drives Debian's headless Chromium through every page
and error state in kk, ru and en (the suite's walk), and, on each, reads Chromium's own
performance timeline: the cumulative layout shift (`layout-shift` entries), the number of
files the page loaded and their bytes (encoded, as sent). The network is throttled to
Lighthouse's mobile figures (150 ms round trip, 1.6 Mbit/s down) with the cache off, on
Lighthouse's phone screen (412 × 823), as in tests/browser/test_layout_shift.py. `--kiosk`
walks the kiosk's screens instead, on a 1080 × 1920 screen.

It prints one table per language and a summary (the worst CLS per language), and exits with
status 1 when a page's CLS reaches 0.01. Timings are not measured: the figures are the same
from run to run, bar a font that comes in time or not.
"""

# ruff: noqa: E402 (the imports come after the sys.path fix just below)
from __future__ import annotations

import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [path for path in sys.path if os.path.abspath(path or os.curdir) != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))

import argparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.browser.conftest import (
    CACHED,
    CHROMEDRIVER,
    LANGUAGES,
    _options,
    serve_app,
    walk_every_page,
    walk_kiosk_pages,
)
from tests.browser.test_layout_shift import KIOSK, LIMIT, PHONE, measure_walk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kiosk", action="store_true", help="the kiosk's screens")
    parser.add_argument("--lang", action="append", choices=LANGUAGES, help="(all three)")
    args = parser.parse_args()
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=_options(javascript=True))
    worst = {}
    try:
        with serve_app(SECRET_KEY="bench", KIOSK_MODE=args.kiosk, **CACHED) as (_app, base):
            for lang in args.lang or LANGUAGES:
                if args.kiosk:
                    walk, screen = walk_kiosk_pages(driver, base, lang, "standard"), KIOSK
                else:
                    walk, screen = walk_every_page(driver, base, lang, "standard"), PHONE
                measured = measure_walk(driver, walk, screen)
                print(f"\n{lang}: {len(measured)} page states")
                print("| Page | CLS | Requests | Stylesheets | Bytes |")
                print("| --- | ---: | ---: | ---: | ---: |")
                for label, result in measured.items():
                    print(
                        f"| {label} | {result['cls']:.4f} | {result['requests']} |"
                        f" {result['stylesheets']} | {result['bytes']:,} |"
                    )
                worst[lang] = max(measured.items(), key=lambda item: item[1]["cls"])
    finally:
        driver.quit()
    print("\nWorst CLS per language:")
    for lang, (label, result) in worst.items():
        print(f"  {lang}: {result['cls']:.4f} ({label})")
    return 1 if any(result["cls"] >= LIMIT for _label, result in worst.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
