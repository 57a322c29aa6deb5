"""Supporting documents (/apply/documents) in a real browser.

With the keyboard alone (real keys through WebDriver actions, focus checked at every stop as
in test_keyboard.py), with and without JavaScript: files are chosen by WebDriver, which sets
an <input type=file> from paths as the operating system's file dialog would (no real dialog
opens in a headless browser); Upload is reached and pressed with keys. A refused upload's
error summary takes focus and its link leads to the file input; Remove names its file, and
the notice after it says which file went. With JavaScript, a 3 MB upload on a throttled
network (Chrome DevTools' network conditions) is heard through the live region as it goes;
without it, the same upload is a plain form post; a connection lost mid-way is said and
shown. axe-core on the error states in every language, each loaded as a page (the form's own
POST, as without script; in the shared walks, conftest.py _documents, they come through
upload.js), and the high contrast theme's Remove and progress bar at 7:1, the bar measured in
the pixels drawn.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import (
    DOCUMENTS,
    KEPT,
    REFUSED,
    SHORT,
    axe_problems,
    choose_files,
    choose_settings,
    contrast,
    flatten,
    listed_files,
    open_next_page,
    page_state,
    parse_colour,
    upload,
    wait_for_new_main,
)
from tests.browser.test_accessibility import AXE_TABLE
from tests.browser.test_keyboard import Keyboard
from tests.helpers import answers_for

BIG = "scan.pdf"  # 3 MB: long enough on a throttled network for the progress to be heard
STEPS = ["Uploaded 25%", "Uploaded 50%", "Uploaded 75%", "Uploaded 100%"]

# Every question answered as the browser's own form posts would (the session's form token, one
# POST a question): the documents page's tests start there. Synchronous requests: WebDriver
# runs a script in a page with JavaScript off, but nothing it leaves waiting comes back.
_ANSWER = """
const token = document.querySelector("input[name=csrf_token]").value;
const went = [];
for (const [slug, data] of arguments[0]) {
  const body = new URLSearchParams({csrf_token: token});
  for (const [name, value] of Object.entries(data)) {
    for (const one of [].concat(value)) body.append(name, one);
  }
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/apply/${slug}`, false);
  xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
  xhr.send(body.toString());
  went.push(new URL(xhr.responseURL).pathname);
}
return went;
"""


def to_documents(driver, base: str, lang: str = "en", theme: str | None = None) -> None:
    """A fresh session (in `theme`, when given) that has answered every question, on the
    documents page."""
    if theme:
        choose_settings(driver, base, lang, theme)
    else:
        driver.delete_all_cookies()
    driver.get(f"{base}/apply/applicant-type?lang={lang}")
    steps = answers_for("ngo")
    went = driver.execute_script(_ANSWER, steps)
    assert went == [f"/apply/{slug}" for slug, _data in steps[1:]] + [DOCUMENTS], went
    driver.get(base + DOCUMENTS)


@pytest.fixture
def driver(browser):
    """The shared browser with no cookies before and after: a person who has not been here."""
    browser.delete_all_cookies()
    yield browser
    browser.delete_all_cookies()


@pytest.fixture
def driver_without_js(browser_without_js):
    browser_without_js.delete_all_cookies()
    yield browser_without_js
    browser_without_js.delete_all_cookies()


def press_upload(kb: Keyboard, timeout: float = 30) -> None:
    """Enter on Upload (it has focus), and wait for the answer: a new page without script,
    a new <main> with it."""
    kb.driver.execute_script("document.querySelector('main').kioskTestOld = true")
    kb.type(Keys.ENTER)
    wait_for_new_main(kb.driver, timeout)


def is_upload(stop: dict) -> bool:
    return stop["tag"] == "button" and stop["value"] == "upload"


# The keyboard alone --------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no js"])
def test_upload_with_the_keyboard_alone_and_an_error_leads_to_the_field(
    documents_live_server, driver, driver_without_js, coverage, javascript
):
    """Tab order file input, Upload, Continue, Save; two refused files: the summary takes
    focus, its link puts focus on the file input, and from there Tab and Enter upload."""
    browser = driver if javascript else driver_without_js
    to_documents(browser, documents_live_server)
    kb = Keyboard(browser, coverage, "documents js" if javascript else "documents no js")
    kb.skip_to_main()
    stops = [kb.tab() for _ in range(4)]
    assert [(s["tag"], s["type"], s["value"]) for s in stops] == [
        ("input", "file", ""),
        ("button", "submit", "upload"),
        ("button", "submit", ""),  # Continue
        ("button", "submit", ""),  # Save and come back later
    ], stops
    assert stops[0]["id"] == "documents" and stops[2]["text"] == "Continue", stops

    for _ in range(3):
        field = kb.tab(back=True)
    assert field["id"] == "documents", field
    choose_files(browser, *REFUSED)
    assert kb.focus()["id"] == "documents"  # choosing a file leaves focus where it was
    assert is_upload(kb.tab())
    press_upload(kb)

    summary = kb.focus()
    assert "error-summary" in summary["cls"], summary  # read first
    messages = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#documents-error p")]
    assert len(messages) == 2 and all(map(str.__contains__, messages, REFUSED)), messages
    link = kb.tab()
    assert link["href"] == "#documents" and REFUSED[0] in link["text"], link
    kb.press(Keys.ENTER)
    field = kb.focus()
    assert field["id"] == "documents" and field["type"] == "file", field
    element = browser.find_element(By.ID, "documents")
    assert element.get_attribute("aria-invalid") == "true"
    assert "documents-error" in element.get_attribute("aria-describedby").split()
    assert listed_files(browser) == []  # nothing refused is kept

    choose_files(browser, KEPT[0])
    assert is_upload(kb.tab())
    press_upload(kb)
    assert listed_files(browser) == [KEPT[0]]
    assert not page_state(browser)["errors"]
    if javascript:  # the new <main> has focus, read from the top as a new page
        assert kb.focus()["id"] == "main"
        first = kb.tab()
        assert first["tag"] == "button" and first["value"].startswith("remove:"), first
    else:  # a new page: nothing focused, the skip link first
        kb.skip_to_main()


_SHOWN_TEXT = """
return [...arguments[0].childNodes]
  .filter((node) => node.nodeType === Node.TEXT_NODE || !node.matches(".visually-hidden"))
  .map((node) => node.textContent).join("").trim();
"""


def test_remove_by_keyboard_and_the_notice_names_the_file(documents_live_server, driver, coverage):
    to_documents(driver, documents_live_server)
    upload(driver, *KEPT)
    assert listed_files(driver) == list(KEPT)
    buttons = driver.find_elements(By.CSS_SELECTOR, "main .summary-list button")
    assert [b.accessible_name for b in buttons] == [f"Remove {name}" for name in KEPT]
    shown = [driver.execute_script(_SHOWN_TEXT, button) for button in buttons]
    assert shown == ["Remove", "Remove"], shown  # the name is heard, not shown again

    kb = Keyboard(driver, coverage, "documents js")
    assert kb.focus()["id"] == "main"  # where upload.js left focus
    gone = KEPT[1]
    value = buttons[1].get_attribute("value")
    kb.tab_to(lambda stop: stop["tag"] == "button" and stop["value"] == value)
    kb.enter_page()

    assert listed_files(driver) == [KEPT[0]]
    notice = driver.find_element(By.CSS_SELECTOR, "main > .notice")
    assert notice.aria_role == "region" and notice.accessible_name == "Important"
    assert notice.find_element(By.CSS_SELECTOR, ".notice__text").text == f"{gone} was removed."
    first = driver.execute_script("return document.querySelector('main').firstElementChild")
    assert first == notice  # the first thing read on the page


# Progress, with and without JavaScript ----------------------------------------------------

# What the page says in its live regions, and the progress bar's state, as they change.
_LISTEN = """
window.kioskTestHeard = [];
window.kioskTestBar = [];
new MutationObserver((changes) => {
  for (const change of changes) {
    const node = change.target.nodeType === 1 ? change.target : change.target.parentElement;
    const region = node && node.closest("[aria-live]");
    if (region && region.getAttribute("aria-live") === "polite") {
      const said = change.type === "characterData" ? node.textContent
        : [...change.addedNodes].map((added) => added.textContent).join("");
      if (said) window.kioskTestHeard.push(said);
    }
    if (node && node.matches("progress")) {
      window.kioskTestBar.push({hidden: node.hidden, value: node.value, max: node.max,
                                shown: node.getClientRects().length > 0});
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                      attributeFilter: ["value", "hidden"]});
"""
# A slow upload (1 MB a second: about 3 s for the 3 MB file), so the progress is reported
# as it goes.
SLOW_UPLOAD = {
    "offline": False,
    "latency": 50,
    "downloadThroughput": -1,
    "uploadThroughput": 1024 * 1024,
}
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


@pytest.fixture
def slow_upload(driver):
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", SLOW_UPLOAD)
    yield
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", UNTHROTTLED)
    driver.execute_cdp_cmd("Network.disable", {})


def test_with_javascript_the_progress_is_heard_and_the_file_listed(
    documents_live_server, driver, coverage, slow_upload
):
    to_documents(driver, documents_live_server)
    driver.execute_script(_LISTEN)
    kb = Keyboard(driver, coverage, "documents js")
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["id"] == "documents")
    choose_files(driver, BIG)
    assert is_upload(kb.tab())
    press_upload(kb, timeout=60)

    assert listed_files(driver) == [BIG]
    heard = driver.execute_script("return window.kioskTestHeard")
    assert heard, "the live region said nothing"
    assert set(heard) <= set(STEPS), heard
    assert heard == sorted(heard, key=STEPS.index), heard  # in order, each once
    assert len(set(heard)) == len(heard), heard
    bar = driver.execute_script("return window.kioskTestBar")
    assert bar and bar[0]["shown"] and not bar[0]["hidden"], bar
    assert any(0 < state["value"] < state["max"] for state in bar), bar  # part way


def test_a_lost_connection_is_said_and_shown_and_upload_can_be_pressed_again(
    documents_live_server, driver, coverage
):
    """Offline as Upload is pressed: the message is heard and seen, focus stays on Upload, and
    once the connection is back the same key sends the files."""
    to_documents(driver, documents_live_server)
    driver.execute_script(_LISTEN)
    kb = Keyboard(driver, coverage, "documents js")
    kb.skip_to_main()
    kb.tab_to(lambda stop: stop["id"] == "documents")
    choose_files(driver, KEPT[0])
    assert is_upload(kb.tab())
    driver.execute_cdp_cmd("Network.enable", {})
    try:
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {**UNTHROTTLED, "offline": True})
        kb.press(Keys.ENTER)
        status = driver.find_element(By.ID, "upload-status")
        failed = driver.find_element(By.ID, "upload-progress").get_attribute("data-failed")
        WebDriverWait(driver, 10).until(lambda _d: status.text == failed)
    finally:
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", UNTHROTTLED)
        driver.execute_cdp_cmd("Network.disable", {})
    assert driver.execute_script("return window.kioskTestHeard") == [failed]
    assert status.size["width"] > 100 and status.size["height"] > 10, status.size  # seen too
    assert _text_contrast(driver, status) >= 4.5
    assert not driver.find_element(By.ID, "upload-progress").is_displayed()
    assert is_upload(kb.focus())  # still on Upload, which works again
    press_upload(kb)
    assert listed_files(driver) == [KEPT[0]]


def test_without_javascript_the_same_upload_is_a_plain_form_post(
    documents_live_server, driver_without_js
):
    driver = driver_without_js
    to_documents(driver, documents_live_server)
    bar = driver.find_element(By.ID, "upload-progress")
    assert not bar.is_displayed()  # nothing shown that no script would move
    driver.execute_script("window.kioskTestSamePage = true")
    upload(driver, BIG)
    assert driver.execute_script("return window.kioskTestSamePage") is None  # a new page
    assert listed_files(driver) == [BIG]
    assert not page_state(driver)["errors"]


# axe-core on the error states, and high contrast ----------------------------------------------


def post_upload(driver, *names: str) -> None:
    """Upload as a browser without script would: the form's own POST, past upload.js (whose
    answer the walks check), and the page the node answers loaded as a new page."""
    if names:
        choose_files(driver, *names)
    form = driver.find_element(By.CSS_SELECTOR, "form[data-upload]")
    open_next_page(
        driver,
        lambda: driver.execute_script(
            "const form = arguments[0], action = document.createElement('input');"
            "Object.assign(action, {type: 'hidden', name: 'action', value: 'upload'});"
            "form.append(action); HTMLFormElement.prototype.submit.call(form);",
            form,
        ),
    )


@pytest.mark.parametrize("theme", ["standard", "high contrast"])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_error_states_pass_axe(documents_live_server, driver, coverage, lang, theme):
    """Each a page as the node sends it: no file chosen; a program and an SVG refused at once
    (two messages); and more than 25 MB in all (nginx's and the app's answer)."""
    aaa = theme == "high contrast"
    to_documents(driver, documents_live_server, lang, theme)
    failures = []
    for label, names in [
        ("no file chosen", ()),
        ("two files refused", REFUSED),
        ("too large", None),
    ]:
        if names is None:
            driver.get(f"{documents_live_server}{DOCUMENTS}?too-large=1")
        else:
            post_upload(driver, *names)
        state = page_state(driver)
        assert state["errors"] and state["lang"] == lang, state
        messages = driver.find_elements(By.CSS_SELECTOR, "#documents-error p")
        assert len(messages) == (len(names) if names else 1), messages
        summary = driver.switch_to.active_element
        assert "error-summary" in summary.get_attribute("class")  # autofocus: read first
        full = f"{DOCUMENTS} · {label} (page load)"
        problems = axe_problems(driver, aaa=aaa)
        mark = "FAIL" if problems else "AAA" if aaa else "AA"
        coverage.record(AXE_TABLE, full, f"{lang} {SHORT[theme]}", mark)
        failures += [f"{full} ({lang}, {theme}): {problem}" for problem in problems]
    assert not failures, "\n".join(failures)


_LOOKS = """
const el = arguments[0];
const behind = [];
for (let n = el; n; n = n.parentElement) behind.push(getComputedStyle(n).backgroundColor);
return {colour: getComputedStyle(el).color, behind};
"""


def _text_contrast(driver, element) -> float:
    looks = driver.execute_script(_LOOKS, element)
    background = flatten(looks["behind"])
    return contrast(parse_colour(looks["colour"]), background)


def _pixel(image: Image.Image, x: float, y: float) -> tuple[float, float, float, float]:
    red, green, blue = image.getpixel((int(x), int(y)))[:3]
    return (float(red), float(green), float(blue), 1.0)


@pytest.mark.parametrize(("theme", "needed"), [("standard", 3.0), ("high contrast", 7.0)])
def test_remove_and_the_progress_bar_stand_out(documents_live_server, driver, theme, needed):
    """Remove (text: 4.5:1, focused too; 7:1 in high contrast) and the progress bar as drawn:
    its filled part against the rest, and its edge against the page (3:1, 7:1 in high
    contrast), read from the pixels on the screen."""
    to_documents(driver, documents_live_server, "kk", theme)
    upload(driver, KEPT[0])
    text_needed = max(needed, 4.5)
    remove = driver.find_element(By.CSS_SELECTOR, "main .summary-list button")
    assert _text_contrast(driver, remove) >= text_needed
    driver.execute_script("arguments[0].focus()", remove)
    assert _text_contrast(driver, remove) >= text_needed
    driver.execute_script("arguments[0].blur()", remove)

    bar = driver.find_element(By.ID, "upload-progress")
    driver.execute_script(  # as upload.js shows it half way
        "arguments[0].hidden = false; arguments[0].value = 50;"
        "const status = document.getElementById('upload-status');"
        "status.textContent = arguments[0].dataset.said.replace('{n}', '50');",
        bar,
    )
    assert axe_problems(driver, aaa=theme == "high contrast") == []
    page = flatten(driver.execute_script(_LOOKS, bar)["behind"][1:])
    shot = Image.open(io.BytesIO(bar.screenshot_as_png)).convert("RGB")
    width, height = shot.size
    filled = _pixel(shot, width * 0.25, height / 2)
    rest = _pixel(shot, width * 0.75, height / 2)
    edge = _pixel(shot, 1, height / 2)
    assert contrast(filled, rest) >= needed, (filled, rest)
    assert contrast(edge, page) >= needed, (edge, page)
    assert _text_contrast(driver, driver.find_element(By.ID, "upload-status")) >= text_needed


@pytest.mark.parametrize(("theme", "needed"), [("standard", 4.5), ("high contrast", 7.0)])
def test_every_button_keeps_its_contrast_under_the_pointer(
    documents_live_server, driver, theme, needed
):
    """Upload and Save (the secondary buttons, on every question page too) and Continue,
    under a mouse or a magnifier user's pointer, and focused under it. The secondary button
    once took .button:hover's white text onto its light grey: 1.2:1."""
    to_documents(driver, documents_live_server, "en", theme)
    buttons = driver.find_elements(By.CSS_SELECTOR, "main .button")
    assert len(buttons) == 3, [button.text for button in buttons]  # Upload, Continue, Save
    for button in buttons:
        ActionChains(driver).move_to_element(button).perform()
        assert driver.execute_script("return arguments[0].matches(':hover')", button)
        assert _text_contrast(driver, button) >= needed, (button.text, "under the pointer")
        driver.execute_script("arguments[0].focus()", button)
        assert _text_contrast(driver, button) >= needed, (button.text, "focused, pointer on it")
        driver.execute_script("arguments[0].blur()", button)
