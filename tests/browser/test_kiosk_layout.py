"""The kiosk's screens fill a touch screen, portrait (1080×1920) and landscape (1920×1080).

On each kiosk screen, in each language and orientation: the footer is at the bottom of the
screen (or of the page, if it is longer), nothing overlaps, every target is at least 48×48 CSS
px, and the main choice sits between the middle and the lower part of the screen, where a
standing or a seated person reaches it, in sight without scrolling. A screenshot of every
screen is saved (the folder is printed at the end of the run, under "kiosk layout").
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import LANGUAGES, follow_link, page_state, press_main_button

ORIENTATIONS = {"portrait": (1080, 1920), "landscape": (1920, 1080)}
# The main choice is between 40 % and 90 % of the screen's height, top to bottom.
REACH = (0.40, 0.90)
TARGET = 48
LAYOUT_TABLE = (
    "kiosk layout, every kiosk screen × language and orientation\n"
    "  ok = footer at the bottom, nothing overlaps, targets ≥ 48 px, main choice in reach"
)

_MEASURE = """
const [mainChoice, target] = arguments;
const html = document.documentElement, height = innerHeight, page = html.scrollHeight;
const problems = [];
const shown = (el) => {
  const s = getComputedStyle(el);
  return s.visibility === "visible" && s.display !== "none" && !el.closest(".visually-hidden")
    && !el.matches(".skip-link:not(:focus)") && el.getClientRects().length > 0;
};
const name = (el) => el.tagName.toLowerCase() + (el.className ? "." + String(el.className)
  .split(" ")[0] : "") + ` "${(el.innerText || el.value || "").trim().slice(0, 25)}"`;

const footer = document.querySelector("footer").getBoundingClientRect();
const bottom = footer.bottom + scrollY;
if (Math.abs(bottom - Math.max(page, height)) > 1) {
  problems.push(`footer ends at ${Math.round(bottom)}, the page at ${Math.max(page, height)}`);
}

const targets = [...document.querySelectorAll(
  "a[href], button, input:not([type=hidden]), textarea, select")].filter(shown);
for (const el of targets) {
  const r = el.getBoundingClientRect();
  if (r.width < target - 0.5 || r.height < target - 0.5) {
    problems.push(`${name(el)} is ${Math.round(r.width)}×${Math.round(r.height)} px`);
  }
}

const boxes = [...document.querySelectorAll(
  "a, button, input:not([type=hidden]), textarea, label, legend, h1, h2, p, li, dt, dd, .hint")]
  .filter(shown).map((el) => ({el, r: el.getBoundingClientRect()}));
for (let i = 0; i < boxes.length; i++) {
  for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
    const across = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
    const down = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
    if (across > 1 && down > 1) problems.push(`${name(a.el)} overlaps ${name(b.el)}`);
  }
}

let choice = null;
const main = document.querySelector(mainChoice);
if (!main) problems.push(`no main choice (${mainChoice})`);
else {
  const r = main.getBoundingClientRect();
  const middle = (r.top + r.bottom) / 2 / height;
  choice = {top: r.top / height, bottom: r.bottom / height, middle};
}
return {problems, choice, fits: page <= height, viewport: [innerWidth, height]};
"""


def _screens(driver, base: str, lang: str):
    """Each kiosk screen in turn, as a person meets it: (name, its main choice)."""
    driver.delete_all_cookies()
    driver.get(f"{base}/kiosk")
    yield "welcome", ".kiosk-welcome__languages"
    follow_link(driver, f"main a[hreflang={lang}]")
    assert page_state(driver)["path"] == "/kiosk/help"
    yield "help", "main button[type=submit]"
    press_main_button(driver)
    assert page_state(driver)["path"] == "/"
    yield "start", "main .button--start"
    driver.get(f"{base}/apply/applicant-type")
    yield "applicant type", "main button[type=submit]"
    press_main_button(driver)
    yield "applicant type, error", "main button[type=submit]"
    driver.get(f"{base}/start-again?back=/apply/applicant-type")
    yield "start again?", "main .button-group"


@pytest.fixture(scope="module")
def shots(tmp_path_factory, coverage):
    folder = tmp_path_factory.mktemp("kiosk-layout")
    coverage.record(LAYOUT_TABLE, f"screenshots: {folder}", "-", "ok")
    return folder


@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kiosk_screen_fills_the_screen_with_its_choice_in_reach(
    kiosk_live_server, browser, coverage, shots, lang, orientation
):
    width, height = ORIENTATIONS[orientation]
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    failures = []
    try:
        for screen, choice in _screens(browser, kiosk_live_server, lang):
            result = browser.execute_script(_MEASURE, choice, TARGET)
            assert result["viewport"] == [width, height], result
            problems = result["problems"]
            where = result["choice"]
            # A screen that fits shows its main choice in reach; a longer one scrolls to it.
            if where and result["fits"] and not REACH[0] <= where["middle"] <= REACH[1]:
                problems.append(
                    f"main choice at {where['top']:.0%}–{where['bottom']:.0%} of the height"
                )
            if where and result["fits"] and where["bottom"] > 1:
                problems.append("main choice below the screen's edge")
            browser.save_screenshot(str(shots / f"{lang}-{orientation}-{screen}.png"))
            column = f"{lang} {orientation}"
            coverage.record(LAYOUT_TABLE, screen, column, "FAIL" if problems else "ok")
            failures += [f"{screen} ({lang}, {orientation}): {p}" for p in problems]
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert not failures, "\n".join(failures)
