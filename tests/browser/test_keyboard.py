"""A whole application with the keyboard alone, and a focus you can see at every stop.

Keys go to the page through WebDriver actions, as a keyboard would send them: Tab, Shift+Tab,
Space, Enter, arrows and typing. At every stop the focused element (for the radios and
checkboxes, the circle or box drawn for it) must look different from when it is not focused,
by an outline, a shadow or a background of at least 3:1 against what it covers, and focus must
never fall back to <body>.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import (
    SHORT,
    choose_settings,
    contrast,
    flatten,
    open_next_page,
    over,
    page_state,
    parse_colour,
    press_main_button,
    set_answers,
)
from tests.helpers import answers_for

KEYBOARD_TABLE = (
    "keyboard, focus stops checked per page: each visible, changed at >= 3:1, never on <body>"
    "\n  journey = kk, whole application (std, then hc + large from target-groups);"
    " all stops = Tab down and Shift+Tab up the page"
)

# What the focused element looks like, then the same element unfocused.
_FOCUS = """
const el = document.activeElement;
const h = document.documentElement;
if (!el || el === document.body || el === h) return {body: true};
let target = el, pseudo = null;
if (el.matches("input[type=radio], input[type=checkbox]")
    && getComputedStyle(el).opacity === "0") {
  target = document.querySelector(`label[for="${el.id}"]`);  // the circle or box drawn for it
  pseudo = "::before";
}
const look = () => {
  const s = getComputedStyle(target, pseudo);
  return {outline: [s.outlineStyle, s.outlineWidth, s.outlineColor], shadow: s.boxShadow,
          background: s.backgroundColor, border: [s.borderTopWidth, s.borderTopColor]};
};
const behind = [];
for (let n = pseudo ? target : target.parentElement; n; n = n.parentElement) {
  behind.push(getComputedStyle(n).backgroundColor);
}
const focused = look();
el.blur();
const unfocused = look();
el.focus({preventScroll: true});
const r = el.getBoundingClientRect();
return {
  body: false, still: document.activeElement === el,
  tag: el.tagName.toLowerCase(), id: el.id, name: el.name || "", type: el.type || "",
  value: el.value || "", checked: !!el.checked, href: el.getAttribute("href") || "",
  cls: el.className, text: (el.innerText || el.value || "").trim().slice(0, 40),
  focused, unfocused, behind, rect: [r.left, r.top, r.right, r.bottom],
  viewport: [innerWidth, innerHeight], forced: matchMedia("(forced-colors: active)").matches,
  footer: !!el.closest("footer"),
};
"""

_SHADOW = re.compile(r"(rgba?\([^)]*\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+([\d.]+)px\s+(-?[\d.]+)px")


def _shadows(text: str) -> set[tuple]:
    """Each drawn box-shadow as (colour, x, y, spread, inset)."""
    found = set()
    for part in re.split(r",(?![^(]*\))", text):
        match = _SHADOW.search(part)
        if match:
            colour, x, y, _blur, spread = match.groups()
            found.add((colour, float(x), float(y), float(spread), "inset" in part))
    return found


def indicator(stop: dict) -> list[tuple[str, float]]:
    """What changes on focus, each with its contrast against what it covers when unfocused."""
    focused, unfocused = stop["focused"], stop["unfocused"]
    behind = flatten(stop["behind"])
    own = over(parse_colour(focused["background"]), behind)
    own_before = over(parse_colour(unfocused["background"]), behind)
    parts = []
    style, width, colour = focused["outline"]
    if focused["outline"] != unfocused["outline"] and style != "none" and float(width[:-2]) >= 1:
        paint = parse_colour(colour)
        if paint[3] > 0:
            parts.append(("outline", contrast(over(paint, behind), behind)))
    for colour, x, y, spread, inset in _shadows(focused["shadow"]) - _shadows(unfocused["shadow"]):
        paint = parse_colour(colour)
        if paint[3] > 0 and (abs(x) >= 1 or abs(y) >= 1 or spread >= 1):
            ground = own if inset else behind
            parts.append(
                ("inset shadow" if inset else "shadow", contrast(over(paint, ground), ground))
            )
    if own != own_before:
        parts.append(("background", contrast(own, own_before)))
    if focused["border"] != unfocused["border"] and float(focused["border"][0][:-2]) >= 1:
        border = over(parse_colour(focused["border"][1]), own)
        before = over(parse_colour(unfocused["border"][1]), own_before)
        parts.append(("border", contrast(border, before)))
    return parts


class Keyboard:
    """A person with a keyboard: every key goes to whatever has focus."""

    def __init__(self, driver, coverage, column: str) -> None:
        self.driver = driver
        self.coverage = coverage
        self.column = column
        self.stops: dict[str, int] = {}

    # Keys ---------------------------------------------------------------------------------

    def press(self, *keys: str, shift: bool = False) -> dict:
        actions = ActionChains(self.driver)
        if shift:
            actions.key_down(Keys.SHIFT)
        actions.send_keys(*keys)
        if shift:
            actions.key_up(Keys.SHIFT)
        actions.perform()
        stop = self.focus()
        assert not stop["body"], f"focus fell to <body> after {keys!r} on {self.page()}"
        return stop

    def tab(self, back: bool = False) -> dict:
        stop = self.press(Keys.TAB, shift=back)
        self.assert_visible(stop)
        return stop

    def type(self, text: str) -> None:
        ActionChains(self.driver).send_keys(text).perform()

    def enter_page(self, key: str = Keys.ENTER) -> None:
        """Press a key that opens another page, and wait for it."""
        open_next_page(self.driver, ActionChains(self.driver).send_keys(key).perform)

    # Focus --------------------------------------------------------------------------------

    def focus(self) -> dict:
        return self.driver.execute_script(_FOCUS)

    def page(self) -> str:
        return page_state(self.driver)["path"]

    def assert_visible(self, stop: dict) -> None:
        where = f"{self.page()}: {stop['tag']} {stop['text']!r} ({stop['id'] or stop['cls']})"
        assert stop["still"], where
        left, top, right, bottom = stop["rect"]
        width, height = stop["viewport"]
        assert right > left and bottom > top, f"{where} has no size"
        assert right > 0 and bottom > 0 and left < width and top < height, f"{where} off screen"
        parts = indicator(stop)
        assert parts, f"{where} looks the same focused and unfocused: {stop['focused']}"
        best = max(ratio for _part, ratio in parts)
        assert best >= 3, f"{where}: focus indicator too faint {parts}"
        label = self.page()
        self.stops[label] = self.stops.get(label, 0) + 1
        self.coverage.record(KEYBOARD_TABLE, label, self.column, str(self.stops[label]))

    def tab_to(self, wanted, limit: int = 40) -> dict:
        """Tab (checking every stop on the way) until `wanted(stop)`; the current one counts."""
        stop = self.focus()
        for _ in range(limit):
            if not stop["body"] and wanted(stop):
                return stop
            stop = self.tab()
        raise AssertionError(f"{self.page()}: not reached with {limit} Tabs; last {stop}")

    # Pages --------------------------------------------------------------------------------

    def skip_to_main(self) -> None:
        """A new page: the first Tab stop is the skip link, and it moves focus to <main>."""
        start = self.focus()
        if start.get("id") == "main":
            # Opened at #main: a redirect keeps the fragment the skip link put on the last page.
            assert self.driver.execute_script("return location.hash") == "#main"
            return
        assert start["body"], f"a new page should start with nothing focused: {start}"
        stop = self.tab()
        assert "skip-link" in stop["cls"] and stop["href"] == "#main", stop
        self.press(Keys.ENTER)
        assert self.focus()["id"] == "main"

    def answer(self, data: dict) -> None:
        for name, value in data.items():
            values = value if isinstance(value, list) else [value]
            stop = self.tab_to(lambda s, name=name: s["name"] == name)
            if stop["type"] == "radio":
                for _ in range(30):
                    if stop["value"] == values[0]:
                        break
                    stop = self.press(Keys.ARROW_DOWN)  # moves and selects
                    self.assert_visible(stop)
                if not stop["checked"]:
                    stop = self.press(Keys.SPACE)  # Tab into a group selects nothing
                assert stop["value"] == values[0] and stop["checked"], stop
            elif stop["type"] == "checkbox":
                while stop["name"] == name:
                    if stop["value"] in values:
                        stop = self.press(Keys.SPACE)
                        assert stop["checked"], stop
                    stop = self.tab()
            else:
                self.type(values[0])
                assert self.focus()["value"] == values[0]

    def continue_(self, key: str = Keys.ENTER) -> None:
        self.tab_to(lambda s: s["tag"] == "button" or "button" in s["cls"].split())
        self.enter_page(key)


def test_whole_application_with_the_keyboard_only(live_server, browser, coverage):
    driver = browser
    kb = Keyboard(driver, coverage, "journey")
    driver.delete_all_cookies()
    driver.get(live_server + "/?lang=kk")
    kb.skip_to_main()
    kb.continue_()  # "Start now"

    for slug, data in answers_for("ngo"):
        assert kb.page() == f"/apply/{slug}"
        if slug == "target-groups":
            # Half way: the header's Accessibility link, then high contrast and larger text.
            kb.skip_to_main()
            kb.tab(back=True)  # Back, just before <main>
            header = kb.tab(back=True)  # on up into the header
            assert "/accessibility?next=/apply/target-groups" in header["href"], header
            kb.enter_page()
            _keyboard_settings(kb)
            assert page_state(driver)["classes"] == "theme-high-contrast text-large"
        kb.skip_to_main()
        back = kb.tab(back=True)  # Back sits before <main>: the skip link went past it
        assert "back-link" in back["cls"], back
        if slug == "contact":
            # Send the page empty, then follow the error summary to the field.
            kb.continue_()
            summary = kb.focus()
            assert "error-summary" in summary["cls"], summary
            first_error = kb.tab()
            assert first_error["href"] == "#contact_name", first_error
            kb.press(Keys.ENTER)
            assert kb.focus()["id"] == "contact_name"
        kb.answer(data)
        if slug == "title":
            # On to Continue, back with Shift+Tab: the text is still there.
            kb.tab()
            again = kb.tab(back=True)
            assert again["name"] == "project_title" and again["value"] == data["project_title"]
        kb.continue_()

    assert kb.page() == "/apply/check"
    kb.skip_to_main()
    kb.continue_()  # past every "Change" link to the Continue button
    assert kb.page() == "/apply/declaration"
    kb.skip_to_main()
    consent = kb.tab_to(lambda s: s["name"] == "consent")
    assert not consent["checked"]
    assert kb.press(Keys.SPACE)["checked"]
    kb.continue_(key=Keys.SPACE)  # a button works with Space too
    assert kb.page() == "/apply/confirmation"
    assert re.fullmatch(
        r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]",
        kb.driver.find_element(By.CSS_SELECTOR, ".reference").text,
    )
    kb.skip_to_main()
    kb.tab_to(lambda s: s["href"].endswith("/apply/receipt"))


def _keyboard_settings(kb: Keyboard) -> None:
    """On the settings page: arrows in both groups, Shift+Tab back to check, Enter to save."""
    assert kb.page() == "/accessibility"
    kb.skip_to_main()
    theme = kb.tab_to(lambda s: s["name"] == "theme")
    assert theme["value"] == "standard" and theme["checked"]  # Tab lands on the chosen one
    theme = kb.press(Keys.ARROW_DOWN)
    kb.assert_visible(theme)
    assert theme["value"] == "high-contrast" and theme["checked"]
    size = kb.tab()
    assert size["name"] == "text_size" and size["value"] == "standard"
    size = kb.press(Keys.ARROW_DOWN)
    assert size["value"] == "large" and size["checked"]
    back = kb.tab(back=True)
    assert back["name"] == "theme" and back["value"] == "high-contrast" and back["checked"]
    kb.tab()
    kb.continue_()
    assert kb.page() == "/apply/target-groups"


@pytest.mark.parametrize("theme", ["standard", "high contrast"])
def test_every_stop_shows_focus_on_every_kind_of_page(live_server, browser, coverage, theme):
    """Tab from top to bottom and Shift+Tab back up, on pages with every component."""
    kb = Keyboard(browser, coverage, f"en {SHORT[theme]} all stops")
    choose_settings(browser, live_server, "en", theme)
    for path in ["/apply/applicant-type", "/apply/target-groups", "/apply/start-date"]:
        browser.get(live_server + path)
        set_answers(browser, {})
        press_main_button(browser)  # the error state: summary, messages, red borders
        _tab_through_page(kb)
    browser.get(live_server + "/")  # the start page's "Start now"
    _tab_through_page(kb)


def _tab_through_page(kb: Keyboard) -> None:
    """Tab to the footer's link, then Shift+Tab back to the skip link: the same stops reversed.

    A page with errors starts on its error summary (autofocus), so the way up also covers the
    stops above it.
    """
    start = kb.focus()
    errors = not start["body"] and "error-summary" in start["cls"]
    assert errors or start["body"], start
    down = [kb.tab()]
    if not errors:
        assert "skip-link" in down[0]["cls"], down[0]
    while not down[-1]["footer"]:
        down.append(kb.tab())
        assert len(down) < 80, down[-1]
    up = [down[-1]]
    while "skip-link" not in up[-1]["cls"]:
        up.append(kb.tab(back=True))
        assert len(up) < 80, up[-1]
    key = lambda stop: (stop["tag"], stop["id"], stop["href"], stop["value"])  # noqa: E731
    assert [key(s) for s in reversed(up)][-len(down) :] == [key(s) for s in down]


@pytest.fixture
def forced_colours(browser):
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "forced-colors", "value": "active"}]}
    )
    yield
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_focus_shows_in_forced_colours(live_server, browser, coverage, forced_colours):
    """Windows High Contrast drops shadows and backgrounds: an outline must remain."""
    kb = Keyboard(browser, coverage, "en forced colours")
    browser.delete_all_cookies()
    for path in ["/apply/applicant-type?lang=en", "/apply/target-groups", "/accessibility"]:
        browser.get(live_server + path)
        assert kb.focus()["body"]
        _tab_through_page(kb)
        assert kb.focus()["forced"]


def _stop(focused: dict, unfocused: dict, behind: str = "rgb(0, 0, 0)") -> dict:
    plain = {
        "outline": ["none", "0px", "rgb(0, 0, 0)"],
        "shadow": "none",
        "background": "rgba(0, 0, 0, 0)",
        "border": ["0px", "rgb(0, 0, 0)"],
    }
    return {
        "focused": {**plain, **focused},
        "unfocused": {**plain, **unfocused},
        "behind": [behind],
    }


def test_the_focus_measure_tells_a_faint_indicator_from_a_clear_one():
    """The measure used at every stop: no change, or a faint one, must not pass."""
    assert indicator(_stop({}, {})) == []
    yellow_to_cyan = indicator(
        _stop({"background": "rgb(0, 255, 255)"}, {"background": "rgb(255, 255, 0)"})
    )
    assert max(ratio for _part, ratio in yellow_to_cyan) < 3
    yellow_outline_on_white = indicator(
        _stop({"outline": ["solid", "3px", "rgb(255, 221, 0)"]}, {}, behind="rgb(255, 255, 255)")
    )
    assert max(ratio for _part, ratio in yellow_outline_on_white) < 3
    black_ring = indicator(
        _stop({"shadow": "rgb(11, 12, 12) 0px 0px 0px 7px"}, {}, behind="rgb(255, 255, 255)")
    )
    assert max(ratio for _part, ratio in black_ring) > 15
    always_there = "rgb(11, 12, 12) 0px 0px 0px 7px"
    assert indicator(_stop({"shadow": always_there}, {"shadow": always_there})) == []
