"""No layout shift while a page loads on a slow phone: CLS under 0.01 on every page and language.

Cumulative layout shift is read from Chromium's own performance timeline: a
PerformanceObserver for `layout-shift` entries (buffered) is put into every document before it
runs, and read once the page has loaded and its fonts are ready. The network is throttled
through the DevTools protocol (`Network.emulateNetworkConditions`, Lighthouse's mobile
figures: 150 ms round trip, 1.6 Mbit/s down) with the cache off, so the fonts arrive late on
every page, as on a phone's first visit. The walk is the accessibility suite's
(conftest.py: walk_every_page, walk_kiosk_pages), in the standard theme.

The same measure, with the requests and bytes of each page, is printed by
bench/layout_shift.py (docs/benchmarks.md); timings are never asserted here.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import (
    DOCUMENTS,
    LANGUAGES,
    upload,
    walk_every_page,
    walk_kiosk_pages,
)

LIMIT = 0.01
# Lighthouse's mobile preset (simulated slow 4G): 150 ms RTT, 1,638.4 kbit/s down, 750 up.
SLOW_PHONE = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1638.4 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
# Lighthouse's mobile screen (a Moto G Power), and a kiosk's portrait touch screen.
PHONE = {"width": 412, "height": 823, "deviceScaleFactor": 1.75, "mobile": True}
KIOSK = {"width": 1080, "height": 1920, "deviceScaleFactor": 1, "mobile": False}
CLS_TABLE = (
    "layout shift on a slow phone (throttled, cache off), every page × language\n"
    "  ok = CLS under 0.01, from Chromium's layout-shift entries"
)

OBSERVER = """
window.__layoutShift = {value: 0, shifts: []};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.hadRecentInput) continue;
    window.__layoutShift.value += entry.value;
    window.__layoutShift.shifts.push({
      value: entry.value,
      at: Math.round(entry.startTime),
      sources: (entry.sources || []).map((s) => s.node
        ? s.node.nodeName.toLowerCase() + (s.node.className ? "." + s.node.className : "")
        : "?"),
    });
  }
}).observe({type: "layout-shift", buffered: true});
"""

# Once loaded and the fonts are in (or given up on), two frames for any last layout to land.
READ = """
const done = arguments[arguments.length - 1];
const loaded = new Promise((resolve) => document.readyState === "complete"
  ? resolve() : addEventListener("load", resolve, {once: true}));
loaded.then(() => document.fonts.ready).then(() => new Promise((resolve) =>
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 100))))
).then(() => {
  const shift = window.__layoutShift || {value: null, shifts: []};
  const navigation = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const files = [navigation, ...resources];
  done({
    cls: shift.value,
    shifts: shift.shifts,
    requests: files.length,
    bytes: files.reduce((sum, file) => sum + (file.encodedBodySize || 0), 0),
    stylesheets: resources.filter((r) => new URL(r.name).pathname.endsWith(".css")).length,
    fonts: [...document.fonts].filter((f) => f.status === "loaded").map((f) => f.family),
    files: files.map((file) => new URL(file.name).pathname),
  });
});
"""


class SlowPhone:
    """Throttle the shared browser and measure each page's CLS; undone on leaving."""

    def __init__(self, driver, screen: dict = PHONE) -> None:
        self.driver = driver
        self.screen = screen

    def __enter__(self) -> SlowPhone:
        cdp = self.driver.execute_cdp_cmd
        cdp("Network.enable", {})
        cdp("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp("Network.emulateNetworkConditions", SLOW_PHONE)
        cdp("Emulation.setDeviceMetricsOverride", self.screen)
        self.script = cdp("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
        return self

    def __exit__(self, *_exc) -> None:
        cdp = self.driver.execute_cdp_cmd
        cdp("Page.removeScriptToEvaluateOnNewDocument", self.script)
        cdp("Emulation.clearDeviceMetricsOverride", {})
        cdp(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        cdp("Network.setCacheDisabled", {"cacheDisabled": False})
        cdp("Network.disable", {})

    def measure(self) -> dict:
        result = self.driver.execute_async_script(READ)
        assert result["cls"] is not None, "the layout-shift observer did not run"
        return result


def measure_walk(driver, walk, screen: dict = PHONE) -> dict[str, dict]:
    """{label: measure} for every stop of a walk, on a throttled network."""
    driver.set_script_timeout(60)
    with SlowPhone(driver, screen) as phone:
        return {label: phone.measure() for label in walk}


def describe(label: str, result: dict) -> str:
    shifts = ", ".join(
        f"{s['value']:.4f} at {s['at']} ms {s['sources'][:3]}" for s in result["shifts"]
    )
    return f"{label}: CLS {result['cls']:.4f} ({shifts})"


def _check(coverage, column: str, measured: dict[str, dict]) -> list[str]:
    failures = []
    for label, result in measured.items():
        bad = result["cls"] >= LIMIT
        coverage.record(CLS_TABLE, label, column, "FAIL" if bad else "ok")
        if bad:
            failures.append(describe(label, result))
    return failures


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_shifts_as_its_fonts_arrive(live_server, browser, coverage, lang):
    measured = measure_walk(browser, walk_every_page(browser, live_server, lang, "standard"))
    assert len(measured) > 30
    failures = _check(coverage, lang, measured)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_kiosk_screen_shifts_as_its_fonts_arrive(kiosk_live_server, browser, coverage, lang):
    walk = walk_kiosk_pages(browser, kiosk_live_server, lang, "standard")
    measured = measure_walk(browser, walk, KIOSK)
    failures = _check(coverage, f"{lang} kiosk", measured)
    assert not failures, "\n".join(failures)


def test_the_measure_sees_a_shift(live_server, browser):
    """The measure itself: the page's content pushed down after load must count."""
    browser.delete_all_cookies()
    with SlowPhone(browser) as phone:
        browser.get(live_server + "/?lang=en")
        assert phone.measure()["cls"] < LIMIT
        # Later than half a second after the last command: Chromium counts WebDriver's as input
        # (hadRecentInput), as it should a person's tap.
        browser.execute_async_script(
            "const done = arguments[0]; setTimeout(() => {"
            " document.querySelector('main').style.paddingTop = '300px';"
            " setTimeout(done, 200); }, 800);"
        )
        result = phone.measure()
        assert result["cls"] > LIMIT, result


def test_upload_moves_nothing_after_the_press(live_server, browser):
    """Upload pressed long after the page has settled, with its buttons in view: the progress
    bar shows at the press (static/js/upload.js), inside the half second Chromium leaves out
    as the person's own doing, so nothing counts. The measure does see the bar: pressed by a
    script's click(), which is no input, the buttons under it count as a shift (0.0143 in ru),
    as they would for a bar shown after the press's half second had gone."""
    browser.set_script_timeout(60)
    for label in walk_every_page(browser, live_server, "ru", "standard"):
        if label == DOCUMENTS:
            break
    page = browser.current_url
    with SlowPhone(browser) as phone:
        browser.get(page)
        assert phone.measure()["cls"] < LIMIT
        browser.execute_script("document.querySelector('.button-group').scrollIntoView(false)")
        time.sleep(0.6)  # past any half second of input: only the press may excuse a shift
        upload(browser)
        result = phone.measure()
    assert result["cls"] < LIMIT, describe("Upload pressed", result)
