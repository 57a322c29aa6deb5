"""A live server and one shared headless Chromium for the browser tests.

Debian's chromium and chromedriver are used directly (Selenium Manager cannot
download anything here). The browser starts once per test session (once per
pytest-xdist worker): a start costs more than most tests.

Below the fixtures: axe-core runs with proof that its rules ran, WCAG contrast
arithmetic, the reflow measure, the walk through every page and error state
(one per language and theme, shared by test_accessibility.py and
test_reflow.py), and the coverage fixture filling the tables (tables.py) that
tests/conftest.py prints at the end of the run.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from axe_selenium_python import Axe
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from kiosk import create_app
from tests import documents_samples as samples
from tests.browser.tables import COVERAGE, Coverage
from tests.helpers import VALID_IIN, WRONG_CHECK, answers_for
from tests.keys import NODE_KEYS
from tests.nginx import behind_nginx, waitress

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@contextmanager
def serve_app(**config):
    """The app with `config` on top, deployed as a web node: waitress with run.py's options,
    behind a real nginx over HTTPS with a self-signed certificate (tests/nginx.py).

    Yields (app, the HTTPS base URL); the instance folder goes when the block ends.
    """
    with behind_nginx(_serve_node, **config) as (app, front):
        yield app, front.url


@contextmanager
def _serve_node(**config):
    """The app served by waitress on 127.0.0.1 in a background thread: (app, its own URL)."""
    instance = Path(tempfile.mkdtemp(prefix="kiosk-browser-"))
    app = create_app(
        {
            "INSTANCE": instance,
            "DATABASE": str(instance / "kiosk.sqlite3"),
            # Cookies belong to a host, not a port: every test server on 127.0.0.1 would
            # otherwise share (and overwrite) one session cookie in the shared browser.
            "SESSION_COOKIE_NAME": f"session_{instance.name}",
            **NODE_KEYS,
            **config,
        }
    )
    try:
        with waitress(app) as url:
            yield app, url
    finally:
        shutil.rmtree(instance, ignore_errors=True)


# CSS, script and fonts kept by the browser instead of asked for again on every page: a third
# less time per page load, and the pages look just the same.
CACHED = {"SEND_FILE_MAX_AGE_DEFAULT": 3600}


# The walks try one well-formed code nobody saved each (walk_every_page): twelve in a run (nine
# for test_accessibility.py and test_reflow.py, three for test_layout_shift.py), more than the
# 10 per 15 minutes an address may fail by default, which would then refuse even the right code.
WALK_RESUMES = "100 per 15 minutes"


@contextmanager
def empty_registry():
    """A registry that holds no saved application: its URL.

    Every look-up gets the registry's own "not found" (404 with {"error": …}), so a code
    nobody saved is told "no application is saved with this code", as a deployed node would
    say it, rather than "we cannot reach the other kiosks" (no registry is running).
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NothingSaved)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class _NothingSaved(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b'{"error": "not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass  # quiet: the test output is for failures


@pytest.fixture(scope="session")
def empty_registry_url():
    with empty_registry() as url:
        yield url


@pytest.fixture(scope="session")
def documents_live_server(empty_registry_url):
    """The web node the walks use: supporting documents on (KIOSK_DOCUMENTS=on), so the journey
    has /apply/documents after the funding question and the check page its documents row."""
    config = {"REGISTRY_URL": empty_registry_url, "LIMIT_RESUME": WALK_RESUMES, **CACHED}
    with serve_app(SECRET_KEY="b", DOCUMENTS=True, **config) as (_app, url):
        yield url


@pytest.fixture(scope="session")
def no_documents_live_server(empty_registry_url):
    """The same web node with supporting documents off (KIOSK_DOCUMENTS=off)."""
    config = {"REGISTRY_URL": empty_registry_url, "LIMIT_RESUME": WALK_RESUMES, **CACHED}
    with serve_app(SECRET_KEY="b0", DOCUMENTS=False, **config) as (_app, url):
        yield url


# Modules written for the journey without supporting documents (off by default until commit
# ef2b6cc): each drives the questions itself and expects the check page right after the
# funding question.
WITHOUT_DOCUMENTS = {"test_journey_browser", "test_keyboard", "test_screen_reader"}


@pytest.fixture
def live_server(request) -> str:
    """The web node: the walks' (documents on), or for WITHOUT_DOCUMENTS the one without.

    Both are started once a session, each only when first asked for.
    """
    module = request.module.__name__.rpartition(".")[2]
    name = "no_documents_live_server" if module in WITHOUT_DOCUMENTS else "documents_live_server"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def kiosk_live_server():
    """The same app in kiosk mode (KIOSK_MODE=on): its own pages, touch sizes, "Start again".

    Supporting documents are on too, as on the walks' web node: a public kiosk never offers
    them (nobody's files are at hand there), so its journey is unchanged."""
    with serve_app(SECRET_KEY="k", KIOSK_MODE=True, DOCUMENTS=True, **CACHED) as (_app, url):
        yield url


def _options(javascript: bool) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
    ]:
        options.add_argument(flag)
    options.accept_insecure_certs = True  # the test nginx's self-signed certificate
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    return options


@pytest.fixture(scope="session")
def browser():
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=_options(javascript=True))
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def browser_without_js():
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=_options(javascript=False))
    yield driver
    driver.quit()


# The accessibility checks: axe with a proof that it ran, contrast, pages ----------------------
#
# Shared by test_accessibility.py, test_keyboard.py and test_reflow.py. Everything below drives
# the one session browser; none of it starts a browser of its own.

AXE_SOURCE = Path(Axe(None).script_url).read_text(encoding="utf8")
AAA_RULE = "color-contrast-enhanced"
CONTRAST_RULES = {"color-contrast": (4.5, 3.0), AAA_RULE: (7.0, 4.5)}  # (normal, large text)

_AXE_RUN = """
const [options, done] = [arguments[0], arguments[arguments.length - 1]];
if (typeof window.axe !== "object") return done({missing: true});
axe.run(document, options).then(
  (r) => done({
    violations: r.violations,
    incomplete: r.incomplete.map((rule) => ({
      id: rule.id,
      nodes: rule.nodes.map((node) => ({
        target: node.target.join(" "),
        why: [...node.any, ...node.all].map((c) => (c.data || {}).messageKey || c.message),
      })),
    })),
    applied: [...r.passes, ...r.violations, ...r.incomplete].map((rule) => rule.id),
  }),
  (error) => done({error: String(error)}),
);
"""


def run_axe(driver, aaa: bool = False) -> dict:
    """axe-core on the current page: the AA tags, plus the AAA contrast rule when asked.

    Returns {"violations": [...], "incomplete": [{id, nodes: [{target, why}]}], "applied":
    [ids of rules that found something to check]}, so a caller can prove a rule really ran.
    """
    options = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "resultTypes": ["violations", "incomplete"],
    }
    if aaa:
        options["rules"] = {AAA_RULE: {"enabled": True}}
    result = driver.execute_async_script(_AXE_RUN, options)
    if result.get("missing"):  # not put in as the page loaded (Walks does that): inject it
        driver.execute_script(AXE_SOURCE)
        result = driver.execute_async_script(_AXE_RUN, options)
    assert "error" not in result, result
    return result


def axe_violations(driver) -> list[dict]:
    """Run axe-core on the current page; return its violations (empty when clean)."""
    return run_axe(driver)["violations"]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )


# Contrast that axe-core 4.10 leaves undecided ("incomplete"), measured here instead, for known
# reasons only (any other reason fails as undecided):
#  - "elmPartiallyObscured" on a textarea: axe says it of every textarea (dequelabs/axe-core#4947,
#    fixed after 4.10.2);
#  - "pseudoContent" on radio and checkbox labels: the drawn circle and box are the label's
#    ::before/::after. They sit beside the text, never behind it; that is measured, not assumed;
#  - "nonBmp": symbols such as ⇧ or ⌫, drawn in the text colour like any letter.
MEASURABLE = {"pseudoContent": {"label"}, "elmPartiallyObscured": {"textarea"}, "nonBmp": None}
_TEXT_COLOURS = """
const box = (r) => [r.left, r.top, r.right, r.bottom];
return arguments[0].map((selector) => {
  const el = document.querySelector(selector);
  const s = getComputedStyle(el);
  const backgrounds = [];
  for (let n = el; n; n = n.parentElement) backgrounds.push(getComputedStyle(n).backgroundColor);
  let text;
  if (el.matches("input, textarea")) text = [box(el.getBoundingClientRect())];
  else {
    const range = document.createRange();
    range.selectNodeContents(el);
    text = [...range.getClientRects()].map(box);
  }
  const pseudos = [];
  for (let n = el; n; n = n.parentElement) {
    for (const which of ["::before", "::after"]) {
      const p = getComputedStyle(n, which);
      if (p.content === "none" || p.display === "none") continue;
      const border = ["Top", "Right", "Bottom", "Left"].some((side) =>
        parseFloat(p[`border${side}Width`]) > 0);
      if (p.backgroundColor === "rgba(0, 0, 0, 0)" && !border) continue;
      if (p.position !== "absolute") { pseudos.push(null); continue; }
      let holder = n;
      while (holder && getComputedStyle(holder).position === "static") {
        holder = holder.parentElement;
      }
      const r = (holder || document.documentElement).getBoundingClientRect();
      const hs = getComputedStyle(holder || document.documentElement);
      const left = r.left + parseFloat(hs.borderLeftWidth) + parseFloat(p.left);
      const top = r.top + parseFloat(hs.borderTopWidth) + parseFloat(p.top);
      pseudos.push([left, top, left + parseFloat(p.width), top + parseFloat(p.height)]);
    }
  }
  return {selector, tag: el.tagName.toLowerCase(), colour: s.color, backgrounds,
          size: parseFloat(s.fontSize), weight: parseInt(s.fontWeight, 10), text, pseudos};
});
"""


def _overlaps(a: list[float], b: list[float], slack: float = 0.5) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > slack and min(a[3], b[3]) - max(a[1], b[1]) > slack


def undecided_contrast(driver, incomplete: list[dict]) -> list[str]:
    """Measure the contrast of every node axe-core could not decide; return the failures."""
    problems = []
    for rule in incomplete:
        if rule["id"] not in CONTRAST_RULES:
            continue
        normal, large = CONTRAST_RULES[rule["id"]]
        targets = [node["target"] for node in rule["nodes"]]
        measured = driver.execute_script(_TEXT_COLOURS, targets)
        for found, node in zip(rule["nodes"], measured, strict=True):
            known = all(
                why in MEASURABLE and (MEASURABLE[why] is None or node["tag"] in MEASURABLE[why])
                for why in found["why"]
            )
            covered = [
                p
                for p in node["pseudos"]
                if p is None or any(_overlaps(p, t) for t in node["text"])
            ]
            if not known or covered or not node["text"]:
                problems.append(
                    f"{rule['id']}: cannot tell the contrast of {node['selector']} {found['why']}"
                )
                continue
            background = flatten(node["backgrounds"])
            ratio = contrast(over(parse_colour(node["colour"]), background), background)
            big = node["size"] >= 24 or (node["weight"] >= 700 and node["size"] >= 18.66)
            needed = large if big else normal
            if ratio < needed:
                problems.append(f"{rule['id']}: {node['selector']} {ratio:.2f}:1, needs {needed}:1")
    return problems


def axe_problems(driver, aaa: bool = False) -> list[str]:
    """Everything axe-core finds on the page, with undecided contrast measured, as text.

    With aaa, also fails when color-contrast-enhanced found nothing to check: a check that
    silently does not run must not pass.
    """
    result = run_axe(driver, aaa=aaa)
    problems = [describe([violation]) for violation in result["violations"]]
    if aaa and AAA_RULE not in result["applied"]:
        problems.append(f"{AAA_RULE} did not run; rules that ran: {result['applied']}")
    problems += undecided_contrast(driver, result["incomplete"])
    return problems


# Colours (WCAG 2.2 relative luminance and contrast ratio) --------------------------------------

Colour = tuple[float, float, float, float]
_RGB = re.compile(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)")


def parse_colour(text: str) -> Colour:
    """A computed CSS colour ("rgb(1, 2, 3)", "rgba(1, 2, 3, 0.5)") as (r, g, b, alpha)."""
    match = _RGB.fullmatch(text.strip())
    assert match, f"not a computed sRGB colour: {text!r}"
    red, green, blue, alpha = match.groups()
    if alpha is None:
        opacity = 1.0
    elif alpha.endswith("%"):
        opacity = float(alpha[:-1]) / 100
    else:
        opacity = float(alpha)
    return (float(red), float(green), float(blue), opacity)


def over(top: Colour, bottom: Colour) -> Colour:
    """`top` painted over an opaque `bottom`."""
    alpha = top[3]
    return (*(top[i] * alpha + bottom[i] * (1 - alpha) for i in range(3)), 1.0)


def flatten(backgrounds: list[str]) -> Colour:
    """What shows through a stack of background colours, innermost first, over a white canvas."""
    colour: Colour = (255.0, 255.0, 255.0, 1.0)
    for text in reversed(backgrounds):
        colour = over(parse_colour(text), colour)
    return colour


def luminance(colour: Colour) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in colour[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: Colour, second: Colour) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Coverage: what was checked, printed at the end of the run -------------------------------------


@pytest.fixture(scope="session")
def coverage() -> Coverage:
    return COVERAGE


# Settings, forms and the walk through every page -----------------------------------------------

THEMES = {
    "standard": ({"theme": "standard", "text_size": "standard"}, ""),
    "high contrast": ({"theme": "high-contrast", "text_size": "standard"}, "theme-high-contrast"),
    "larger text": ({"theme": "standard", "text_size": "large"}, "text-large"),
}
LANGUAGES = ["kk", "ru", "en"]
SHORT = {"standard": "std", "high contrast": "hc", "larger text": "large"}  # table columns


def page_state(driver) -> dict:
    return driver.execute_script(
        "const h = document.documentElement;"
        "return {lang: h.lang, classes: h.className, path: location.pathname,"
        " errors: !!document.querySelector('.error-summary')};"
    )


def set_answers(driver, data: dict) -> None:
    """Clear every answer on the page, then put in `data` as a person would leave it."""
    driver.execute_script(
        """
        const data = arguments[0];
        const answers = "main input:not([type=hidden]), main textarea";
        for (const el of document.querySelectorAll(answers)) {
          if (el.type === "radio" || el.type === "checkbox") el.checked = false;
          else el.value = "";
        }
        for (const [name, value] of Object.entries(data)) {
          const values = Array.isArray(value) ? value : [value];
          for (const el of document.getElementsByName(name)) {
            const choice = el.type === "radio" || el.type === "checkbox";
            if (choice) el.checked = values.includes(el.value);
            else el.value = values[0];
            el.dispatchEvent(new Event("input", {bubbles: true}));
          }
        }
        """,
        data,
    )


def press_main_button(driver) -> None:
    """Activate the page's main button or button-link and wait for the next page."""
    follow_link(driver, "main button[type=submit], main a.button")


def follow_link(driver, selector: str) -> None:
    """Activate the first match of `selector` and wait for the next page.

    Activated from the page (element.click()), a tenth of a second quicker than a WebDriver
    click; real keys and pointers are the keyboard test's and the no-JS journey's business.
    """

    def click() -> None:
        assert driver.execute_script(
            "const el = document.querySelector(arguments[0]); if (el) el.click(); return !!el;",
            selector,
        ), selector

    open_next_page(driver, click)


def open_next_page(driver, leave) -> None:
    """Run `leave` (a click or key that opens a page) and wait until the next page has loaded.

    The old page's window is marked, and a new document starts without the mark. Waiting for
    the old <html> to go stale was not enough: Chromium can report an error on the old node
    while the navigation is still pending, and a test then read the old page's address (a CI
    run of test_start_again_deletes_the_draft_and_nothing_comes_back). WebDriver runs these
    scripts even where the page's own JavaScript is turned off.
    """
    driver.execute_script("window.kioskTestLeaving = true")
    leave()
    WebDriverWait(driver, 10, poll_frequency=0.02, ignored_exceptions=(WebDriverException,)).until(
        _next_page_loaded
    )


def _next_page_loaded(driver) -> bool:
    return driver.execute_script(
        "return !window.kioskTestLeaving && document.readyState === 'complete'"
    )


def settle_site_data(driver, kiosk_base: str) -> None:
    """Wait until the browser has done clearing site data, before a fresh kiosk session.

    Chromium clears for a Clear-Site-Data header in the background, for the whole host
    (cookies know no port), so one kiosk test's "forget the applicant" could remove the
    session cookie of the next test's server after its first page; its first POST then
    met "This page has expired" (two CI runs). Clearing once more, as a kiosk's "Finish"
    does, and waiting for a probe cookie set before it to go, lets any earlier clearing end.
    """
    driver.get(kiosk_base + "/healthz")
    driver.add_cookie({"name": "probe", "value": "1", "path": "/"})
    driver.execute_script("fetch('/kiosk/finish', {method: 'POST'})")
    wait = WebDriverWait(driver, 20, poll_frequency=0.05)
    wait.until(lambda d: d.get_cookie("probe") is None)
    driver.delete_all_cookies()


def choose_settings(driver, base: str, lang: str, theme: str, extra: str = "") -> None:
    """A fresh session in `lang`, with the theme saved through the settings form itself.

    `extra` is any other class <html> has on that server ("kiosk")."""
    settings, html_class = THEMES[theme]
    if "kiosk" in extra:
        settle_site_data(driver, base)
    driver.delete_all_cookies()
    driver.get(f"{base}/accessibility?lang={lang}")
    set_answers(driver, settings)
    press_main_button(driver)
    state = page_state(driver)
    assert state["path"] == "/" and state["lang"] == lang, state
    assert state["classes"] == f"{html_class} {extra}".strip(), state


def _here(driver, lang: str, classes: str):
    """A check for each stop of a walk: the language and theme kept, errors shown or not."""

    def here(label: str, errors: bool = False) -> str:
        state = page_state(driver)
        assert (state["lang"], state["classes"]) == (lang, classes), (label, state)
        assert state["errors"] == errors, (label, state)
        return label

    return here


INVALID = {
    "organisation": {"organisation_name": "12345", "bin": "123"},
    "person": {"full_name": "12345", "iin": VALID_IIN[:-1] + str((int(VALID_IIN[-1]) + 1) % 10)},
    "contact": {"contact_name": "1", "phone": "12", "email": "not an e-mail"},
    "title": {"project_title": "!!!"},
    "target-groups": {"target_groups": ["other"], "other_group": ""},
    "problem": {"problem": "Ә" * 2001},
    "activities": {"activities": "Ә" * 2001},
    "results": {"results": "Ә" * 1501},
    "settlement": {"settlement": "123"},
    "start-date": {"start_month": "13", "start_year": "1800"},
    "people": {"helped_last_year": "-5", "helped_total": "lots"},
}
EMPTY, INVALID_STATE = "empty", "invalid values"
SAVE_ON = "contact"  # the walk saves here, answered, and resumes on the next question
UNKNOWN_CODE = "R7K3-M9QX-TW4P-JC"  # well formed (the resume page's example); nobody saved it
SAVE_BUTTON = "main button[formaction$='/save']"  # "Save and come back later"


def walk_every_page(driver, base: str, lang: str, theme: str, invalid: bool = True):
    """Drive a fresh session through every page and every error state; yield a label at each.

    On a node with supporting documents on (documents_live_server), their page comes after
    the funding question, its states uploaded through upload.js (_documents).

    The caller checks the loaded page at each label; the walk then goes on from there. Every
    page is asserted to keep the session's language and theme.
    """
    choose_settings(driver, base, lang, theme)
    here = _here(driver, lang, THEMES[theme][1])

    def error_states(slug: str, label: str):
        set_answers(driver, {})
        press_main_button(driver)
        yield here(f"{label} · {EMPTY}", errors=True)
        if invalid and slug in INVALID:
            set_answers(driver, INVALID[slug])
            press_main_button(driver)
            yield here(f"{label} · {INVALID_STATE}", errors=True)

    yield here("start /")
    driver.get(f"{base}/accessibility-statement")
    yield here("accessibility statement")
    driver.get(f"{base}/missing")
    yield here("page not found (404)")
    driver.get(f"{base}/accessibility?next=/apply/applicant-type")
    yield here("accessibility settings")
    # Its radios always hold a choice, so only a value the server does not know is an error.
    driver.execute_script(
        "for (const el of document.querySelectorAll('main input[type=radio]')) el.value = 'x'"
    )
    press_main_button(driver)
    yield here(f"accessibility settings · {INVALID_STATE}", errors=True)
    driver.get(f"{base}/apply/applicant-type")
    driver.execute_script("document.querySelector('input[name=csrf_token]').remove()")
    press_main_button(driver)
    yield here("page expired (CSRF)")

    def question(slug: str, data: dict, label: str):
        yield here(label)
        yield from error_states(slug, label)
        set_answers(driver, data)
        if slug == SAVE_ON:
            yield from _save_and_resume(driver, base, here, invalid)
        else:
            press_main_button(driver)

    driver.get(f"{base}/apply/applicant-type")
    for slug, data in answers_for("ngo"):
        assert page_state(driver)["path"] == f"/apply/{slug}", slug
        yield from question(slug, data, f"/apply/{slug}")
    documents = page_state(driver)["path"] == DOCUMENTS  # (bench/layout_shift.py's node: off)
    if documents:
        yield from _documents(driver, here, invalid)
    assert page_state(driver)["path"] == "/apply/check"
    if documents:
        main = driver.find_element(By.TAG_NAME, "main")
        assert main.find_elements(By.CSS_SELECTOR, f"a[href='{DOCUMENTS}?change=1']")  # Change
        assert all(name in main.text for name in KEPT), main.text
    yield here("check answers")  # with its supporting documents row, the two files in it

    # The individual's own page: change the applicant type from the check page.
    driver.get(f"{base}/apply/applicant-type?change=1")
    set_answers(driver, {"applicant_type": "individual"})
    press_main_button(driver)
    assert page_state(driver)["path"] == "/apply/person"
    yield from question("person", dict(answers_for("individual"))["person"], "/apply/person")
    assert page_state(driver)["path"] == "/apply/check"

    press_main_button(driver)
    assert page_state(driver)["path"] == "/apply/declaration"
    yield here("declaration")
    yield from error_states("declaration", "declaration")
    set_answers(driver, {"consent": "y"})
    press_main_button(driver)
    yield here("confirmation")
    reference = driver.find_element(By.CSS_SELECTOR, ".reference").text
    follow_link(driver, "main a[href$='/apply/receipt']")
    yield here("receipt")

    driver.get(f"{base}/status")
    yield here("application status")
    press_main_button(driver)
    yield here(f"application status · {EMPTY}", errors=True)
    if invalid:
        set_answers(driver, {"reference": "ABC"})
        press_main_button(driver)
        yield here(f"application status · {INVALID_STATE}", errors=True)
    set_answers(driver, {"reference": reference})
    press_main_button(driver)
    yield here("application status · found")


def _save_and_resume(driver, base: str, here, invalid: bool):
    """ "Save and come back later" on an answered page, the saved page, then the resume page
    and its error states, and the right code: back on the journey, on the next question."""
    follow_link(driver, SAVE_BUTTON)
    assert page_state(driver)["path"] == "/apply/saved"
    yield here("saved application")
    code = driver.find_element(By.CSS_SELECTOR, "main .reference").text
    driver.get(f"{base}/resume")
    yield here("continue a saved application")
    press_main_button(driver)
    yield here(f"continue a saved application · {EMPTY}", errors=True)
    if invalid:
        for state, typed in (
            ("wrong check character", WRONG_CHECK),
            ("unknown code", UNKNOWN_CODE),
        ):
            set_answers(driver, {"code": typed})
            press_main_button(driver)
            yield here(f"continue a saved application · {state}", errors=True)
    set_answers(driver, {"code": code})
    press_main_button(driver)


DOCUMENTS = "/apply/documents"
UPLOAD_BUTTON = "main button[value=upload]"
CONTINUE_BUTTON = "main .button-group button:not([formaction])"
KEPT = ("Смета.pdf", "photo.png")  # two files the node keeps
REFUSED = ("setup.exe", "logo.svg")  # two it refuses in one upload: a message for each


def _documents(driver, here, invalid: bool):
    """The supporting documents page after the funding question: empty, Upload with nothing
    chosen, two files kept and listed, two refused at once (a message each, the list kept),
    then Continue to the check page."""
    assert page_state(driver)["path"] == DOCUMENTS
    yield here(DOCUMENTS)
    upload(driver)
    yield here(f"{DOCUMENTS} · no file chosen", errors=True)
    upload(driver, *KEPT)
    assert listed_files(driver) == list(KEPT)
    yield here(f"{DOCUMENTS} · two files")
    if invalid:
        upload(driver, *REFUSED)
        messages = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "#documents-error p")]
        assert len(messages) == 2 and all(map(str.__contains__, messages, REFUSED)), messages
        assert listed_files(driver) == list(KEPT)
        yield here(f"{DOCUMENTS} · two files refused", errors=True)
    follow_link(driver, CONTINUE_BUTTON)


@cache
def sample_files() -> dict[str, str]:
    """Sample documents written to disk once a run ({name: path}): WebDriver chooses a file for
    an <input type=file> by its path, as a person picks one in the file dialog."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-documents-"))
    atexit.register(shutil.rmtree, folder, True)
    made = {
        "Смета.pdf": samples.pdf(),
        "photo.png": samples.png(),
        "setup.exe": samples.exe(),
        "logo.svg": samples.svg(),
        "scan.pdf": samples.big_pdf(3 * 1024 * 1024),  # long enough to show progress
    }
    for name, content in made.items():
        (folder / name).write_bytes(content)
    return {name: str(folder / name) for name in made}


def choose_files(driver, *names: str) -> None:
    """Put these sample files in the documents page's file input."""
    field = driver.find_element(By.CSS_SELECTOR, "main input[type=file]")
    field.send_keys("\n".join(sample_files()[name] for name in names))


def upload(driver, *names: str) -> None:
    """Choose these files (none: Upload with nothing chosen), press Upload, and wait for the
    answer to show. With JavaScript the files go by XMLHttpRequest (static/js/upload.js) and
    the answer may take the place of <main> with no new page: either is waited for.

    Pressed by WebDriver, as a person taps, not by a script's click(): the progress bar shows
    at the press, and Chromium leaves a shift within half a second of an input out of the
    layout shift (hadRecentInput), as it should. A script's click() is no input, so the
    layout-shift walk counted the bar whenever the click came more than half a second after
    the last WebDriver command (CLS 0.0143 in ru, where the buttons sit in view)."""
    if names:
        choose_files(driver, *names)
    driver.execute_script("document.querySelector('main').kioskTestOld = true")
    driver.find_element(By.CSS_SELECTOR, UPLOAD_BUTTON).click()
    wait_for_new_main(driver)


def wait_for_new_main(driver, timeout: float = 30) -> None:
    """Wait until the <main> marked kioskTestOld is gone: replaced, or a new page loaded."""
    WebDriverWait(
        driver, timeout, poll_frequency=0.02, ignored_exceptions=(WebDriverException,)
    ).until(
        lambda d: d.execute_script(
            "const main = document.querySelector('main');"
            "return !!main && !main.kioskTestOld && document.readyState === 'complete'"
        )
    )


def listed_files(driver) -> list[str]:
    """The names of the files the documents page lists."""
    return [dt.text for dt in driver.find_elements(By.CSS_SELECTOR, "main .summary-list dt")]


def walk_kiosk_pages(driver, base: str, lang: str, theme: str):
    """The pages only a kiosk has, and a question with the kiosk's frame, as walk_every_page."""
    choose_settings(driver, base, lang, theme, extra="kiosk")
    here = _here(driver, lang, f"{THEMES[theme][1]} kiosk".strip())
    driver.get(f"{base}/kiosk")
    yield here("kiosk: choose a language")
    follow_link(driver, f"main a[hreflang={lang}]")
    assert page_state(driver)["path"] == "/kiosk/help"
    yield here("kiosk: help to see or hear")
    press_main_button(driver)  # the choices already made stay
    assert page_state(driver)["path"] == "/"
    yield here("kiosk: start /")
    driver.get(f"{base}/apply/applicant-type")
    yield here("kiosk: /apply/applicant-type")
    press_main_button(driver)
    yield here(f"kiosk: /apply/applicant-type · {EMPTY}", errors=True)
    follow_link(driver, "header a.header__link--start-again")
    assert page_state(driver)["path"] == "/start-again"
    yield here("kiosk: start again?")
    driver.get(f"{base}/resume")
    yield here("kiosk: continue a saved application")
    # Last: the saved slip comes in the save's own response, and the kiosk forgets the
    # applicant with it (their language and theme too).
    driver.get(f"{base}/apply/applicant-type")
    set_answers(driver, {"applicant_type": "ngo"})
    follow_link(driver, SAVE_BUTTON)
    assert page_state(driver)["path"] == "/apply/applicant-type/save"
    yield here("kiosk: saved application (slip)")


# Reflow: measured where a page stands, narrowed or with its text enlarged -----------------------

_REFLOW = """
const root = document.documentElement;
const fontSize = arguments[0];
if (fontSize) root.style.fontSize = fontSize;  // laid out again as soon as it is measured
const size = getComputedStyle(root).fontSize, viewport = innerWidth;
const width = root.clientWidth;
const problems = [];
if (root.scrollWidth > width) {
  problems.push(`page scrolls sideways: ${root.scrollWidth} > ${width}`);
}
const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
  + (typeof el.className === "string" && el.className ? "." + el.className.split(" ")[0] : "")
  + ` "${(el.innerText || el.value || "").trim().slice(0, 30)}"`;
const items = [];
const wanted = "a, button, input:not([type=hidden]), textarea, label, legend, h1, h2, h3, p, li,"
  + " dt, dd, .hint, .error-message, .reference";
for (const el of document.querySelectorAll(wanted)) {
  const s = getComputedStyle(el);
  if (el.closest(".visually-hidden") || s.visibility !== "visible") continue;
  if (el.matches(".skip-link:not(:focus)")) continue;  // off screen until focused, by design
  const rects = [...el.getClientRects()].filter((r) => r.width >= 1 && r.height >= 1);
  if (!rects.length) continue;
  for (const r of rects) {
    if (r.left < -1 || r.right > width + 1) {
      problems.push(`${name(el)} is cut off: ${Math.round(r.left)}..${Math.round(r.right)}`
                    + ` of ${width}`);
    }
  }
  if (s.display !== "inline" && !el.matches("input, textarea") && s.overflowX === "visible") {
    // What is drawn inside (its text, its children's boxes without their margins; not text
    // hidden for screen readers) stays inside.
    // A space at the end of a line may hang past the edge, unseen: it gets some slack.
    const own = el.getBoundingClientRect(), range = document.createRange(), drawn = [];
    const space = 0.35 * parseFloat(s.fontSize);
    for (const child of el.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        range.selectNode(child);
        drawn.push(...[...range.getClientRects()].map((r) => [r, space]));
      } else if (child.nodeType === Node.ELEMENT_NODE && !child.matches(".visually-hidden")) {
        drawn.push(...[...child.getClientRects()].map((r) => [r, 1]));
      }
    }
    for (const [r, slack] of drawn) {
      if (r.width >= 1 && (r.right > own.right + slack || r.left < own.left - slack)) {
        problems.push(`${name(el)} spills out of its box: ${Math.round(r.left)}..`
                      + `${Math.round(r.right)} drawn in ${Math.round(own.left)}..`
                      + `${Math.round(own.right)}`);
        break;
      }
    }
  }
  items.push({el, rects});
}
for (let i = 0; i < items.length; i++) {
  for (let j = i + 1; j < items.length; j++) {
    const a = items[i], b = items[j];
    if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
    const hit = a.rects.some((p) => b.rects.some((q) =>
      Math.min(p.right, q.right) - Math.max(p.left, q.left) > 1
      && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 1));
    if (hit) problems.push(`${name(a.el)} overlaps ${name(b.el)}`);
  }
}
root.style.fontSize = "";
return {problems, measured: items.length, size, viewport};
"""


def measure_reflow(driver, condition: str) -> list[str]:
    """What breaks on this page at "320px" wide or with "200% text": sideways scrolling, text
    cut off or spilling out of its box, and overlapping text or controls. Restores the page."""
    if condition == "320px":
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False},
        )
        try:
            result = driver.execute_script(_REFLOW, None)
        finally:
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        assert result["viewport"] == 320, result  # (a scrollbar may take some of it)
    else:
        result = driver.execute_script(_REFLOW, "200%")
        assert result["size"] == "32px", result
    assert result["measured"] > 5, result  # the page really was measured
    return result["problems"]


# One walk per variant, every check on every page ------------------------------------------------

REFLOW_CONDITIONS = {  # high contrast changes colours only: its layout is the standard one
    "standard": ["320px", "200% text"],
    "high contrast": [],
    "larger text": ["320px"],
}


class Walks:
    """Each (language, theme) walked once, with axe-core and the reflow measures on every page.

    Page loads are most of the cost, so test_accessibility.py and test_reflow.py read the same
    walk: {label: {"axe": [problems], "reflow": {condition: [problems]}}}.
    """

    def __init__(self, driver, base: str, kiosk_base: str) -> None:
        self.driver = driver
        self.base = base
        self.kiosk_base = kiosk_base
        self.done: dict[tuple[str, str, bool], dict | Exception] = {}

    def __call__(self, lang: str, theme: str, kiosk: bool = False) -> dict[str, dict]:
        key = (lang, theme, kiosk)
        if key not in self.done:
            try:
                self.done[key] = self._walk(*key)
            except Exception as error:  # every test reading this walk reports it
                self.done[key] = error
        result = self.done[key]
        if isinstance(result, Exception):
            raise result
        return result

    def _walk(self, lang: str, theme: str, kiosk: bool) -> dict[str, dict]:
        driver = self.driver
        script = driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": AXE_SOURCE}
        )
        pages = {}
        if kiosk:
            walk = walk_kiosk_pages(driver, self.kiosk_base, lang, theme)
        else:
            walk = walk_every_page(driver, self.base, lang, theme)
        try:
            for label in walk:
                pages[label] = {
                    "axe": axe_problems(driver, aaa=theme == "high contrast"),
                    "reflow": {c: measure_reflow(driver, c) for c in REFLOW_CONDITIONS[theme]},
                }
            assert kiosk or DOCUMENTS in pages, "the walk met no supporting documents page"
        finally:
            driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", script)
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return pages


@pytest.fixture(scope="session")
def walks(documents_live_server, kiosk_live_server, browser) -> Walks:
    return Walks(browser, documents_live_server, kiosk_live_server)
