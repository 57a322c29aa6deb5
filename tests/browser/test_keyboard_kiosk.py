"""The kiosk's on-screen keyboard (static/js/keyboard.js), in a real browser in kiosk mode.

Kiosks have no physical keyboard: a panel of real buttons opens under a focused text field,
with the layout the field asks for, and types at the caret without taking focus from the field.
Touch is driven with WebDriver clicks (the pointer goes down on the key), a keyboard or a switch
with real Tab, arrow and Enter keys.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import axe_problems, press_main_button, serve_app, set_answers

KAZAKH = set("аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя")
RUSSIAN = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
LATIN = set("abcdefghijklmnopqrstuvwxyz")
DIGITS = set("0123456789")


@pytest.fixture(scope="module")
def kiosk_server():
    """The app in kiosk mode on 127.0.0.1: its base URL."""
    with serve_app(SECRET_KEY="keyboard", KIOSK_MODE=True) as (_app, url):
        yield url


@pytest.fixture
def kiosk(browser, kiosk_server):
    """The shared browser on a fresh kiosk session; its cookies are gone again afterwards
    (the other live server shares the host name, and so the cookie)."""
    browser.delete_all_cookies()
    yield browser, kiosk_server
    browser.delete_all_cookies()


def panel_open(driver) -> bool:
    return driver.execute_script(
        "const p = document.querySelector('.osk'); return !!p && !p.hidden"
        " && p.getBoundingClientRect().height > 0"
    )


def open_keyboard(driver, url: str, field_id: str):
    """Load the page, touch the field, wait for the panel; return the field."""
    driver.get(url)
    field = driver.find_element(By.ID, field_id)
    field.click()
    WebDriverWait(driver, 5, poll_frequency=0.02).until(panel_open)
    return field


def keys(driver) -> list[dict]:
    """What the panel shows: each key's typed character or action, and its visible text."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.osk button')].map((b) => ({"
        " c: b.dataset.c || null, k: b.dataset.k || null, text: b.textContent,"
        " pressed: b.getAttribute('aria-pressed')}))"
    )


def characters(driver) -> set[str]:
    return {key["c"] for key in keys(driver) if key["c"]}


def letters(driver) -> set[str]:
    return {char for char in characters(driver) if char.isalpha()}


def key(driver, char: str | None = None, action: str | None = None):
    selector = f'.osk button[data-c="{char}"]' if char else f'.osk button[data-k="{action}"]'
    return driver.find_element(By.CSS_SELECTOR, selector)


def touch_type(driver, text: str) -> None:
    """Type `text` with the on-screen keys only: Shift before a capital, the Space key."""
    for char in text:
        if char == " ":
            key(driver, action="space").click()
            continue
        if char != char.lower():
            key(driver, action="shift").click()
        key(driver, char.lower()).click()


def active_id(driver) -> str:
    return driver.execute_script("return document.activeElement.id")


def choose_ngo(driver, base: str) -> None:
    driver.get(f"{base}/apply/applicant-type?lang=kk")
    set_answers(driver, {"applicant_type": "ngo"})
    press_main_button(driver)
    assert driver.execute_script("return location.pathname") == "/apply/organisation"


# 1. Touch -------------------------------------------------------------------------------------


def test_touching_keys_types_a_kazakh_title_and_the_field_keeps_focus(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    assert letters(driver) == KAZAKH  # all 42 letters of the Kazakh alphabet
    assert len(KAZAKH) == 42

    touch_type(driver, "Әлеуметтік жоба")

    assert field.get_attribute("value") == "Әлеуметтік жоба"
    assert active_id(driver) == "project_title"
    assert panel_open(driver)
    # Shift gave one capital, then let go; the caret is at the end of what was typed.
    assert key(driver, action="shift").get_attribute("aria-pressed") == "false"
    assert driver.execute_script("return document.activeElement.selectionStart") == 15
    # What was typed last is said in the polite live region.
    assert driver.execute_script(
        "return [...document.querySelectorAll('main [aria-live=polite]')]"
        ".some((r) => r.textContent.replace('\\u200b', '') === 'а')"
    )


def test_real_touches_type_and_leave_focus_in_the_field(kiosk):
    """Touch events as a touch screen sends them (not a mouse): same result."""
    driver, base = kiosk

    def tap(selector: str) -> None:
        box = driver.execute_script(
            "return document.querySelector(arguments[0]).getBoundingClientRect().toJSON()",
            selector,
        )
        point = [{"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}]
        for kind, points in (("touchStart", point), ("touchEnd", [])):
            driver.execute_cdp_cmd(
                "Input.dispatchTouchEvent", {"type": kind, "touchPoints": points}
            )

    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
    try:
        driver.get(f"{base}/apply/title?lang=kk")
        tap("#project_title")
        WebDriverWait(driver, 5, poll_frequency=0.02).until(panel_open)
        for selector in ("[data-k=shift]", "[data-c=ә]", "[data-c=л]", "[data-k=space]"):
            tap(f".osk {selector}")
        WebDriverWait(driver, 5, poll_frequency=0.02).until(
            lambda d: d.find_element(By.ID, "project_title").get_attribute("value") == "Әл "
        )
        assert active_id(driver) == "project_title"
    finally:
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})


def test_keys_type_at_the_caret_and_backspace_deletes_before_it(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    touch_type(driver, "жоба")
    driver.execute_script("arguments[0].setSelectionRange(2, 2)", field)
    key(driver, "қ").click()
    assert field.get_attribute("value") == "жоқба"
    key(driver, action="back").click()
    key(driver, action="back").click()
    assert field.get_attribute("value") == "жба"
    assert driver.execute_script("return arguments[0].selectionStart", field) == 1
    assert active_id(driver) == "project_title"


def test_keys_fire_input_events_the_character_count_hears(kiosk):
    driver, base = kiosk
    open_keyboard(driver, f"{base}/apply/problem?lang=kk", "problem")
    message = driver.find_element(By.ID, "problem-info")
    before = message.text
    touch_type(driver, "ә")
    key(driver, action="enter").click()  # a textarea gets a New line key
    assert driver.find_element(By.ID, "problem").get_attribute("value") == "ә\n"
    assert message.text != before and re.sub(r"\D", "", message.text) == "1998"


def test_maxlength_is_respected(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    driver.execute_script("arguments[0].maxLength = 3", field)
    touch_type(driver, "жоба")
    assert field.get_attribute("value") == "жоб"


def test_close_key_hides_it_and_touching_the_field_brings_it_back(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    key(driver, action="close").click()
    assert not panel_open(driver)
    assert active_id(driver) == "project_title"
    assert driver.execute_script("return document.body.style.paddingBottom") == ""
    field.click()
    assert panel_open(driver)


def test_a_physical_or_os_keyboard_still_types(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    assert field.get_attribute("inputmode") is None  # the OS keyboard is not switched off
    field.send_keys("Жоба 1")
    key(driver, "а").click()
    assert field.get_attribute("value") == "Жоба 1а"
    field.send_keys(Keys.ESCAPE)
    assert not panel_open(driver)
    assert active_id(driver) == "project_title"


def test_the_focused_field_stays_above_the_panel(kiosk):
    driver, base = kiosk
    driver.set_window_size(1280, 700)
    try:
        open_keyboard(driver, f"{base}/apply/contact?lang=kk", "email")
        field, panel = driver.execute_script(
            "return [document.activeElement.getBoundingClientRect(),"
            " document.querySelector('.osk').getBoundingClientRect()]"
        )
        assert field["top"] >= 0 and field["bottom"] <= panel["top"], (field, panel)
    finally:
        driver.set_window_size(1280, 1000)


# 2. The layout follows the field --------------------------------------------------------------


def test_bin_field_gets_digits(kiosk):
    driver, base = kiosk
    choose_ngo(driver, base)
    open_keyboard(driver, driver.current_url, "bin")
    assert characters(driver) == DIGITS
    assert {k["k"] for k in keys(driver) if k["k"]} == {"back", "close"}
    for digit in "180340021793":
        key(driver, digit).click()
    assert driver.find_element(By.ID, "bin").get_attribute("value") == "180340021793"
    # Moving to the name field brings the letters back.
    driver.find_element(By.ID, "organisation_name").click()
    assert letters(driver) == KAZAKH


def test_phone_field_gets_a_phone_pad(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/contact?lang=kk", "phone")
    assert characters(driver) == DIGITS | set("+()-")
    assert "space" in {k["k"] for k in keys(driver)}
    touch_type(driver, "+7 (701) 234-56-78")
    assert field.get_attribute("value") == "+7 (701) 234-56-78"


def test_email_field_gets_latin_with_at_sign(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/contact?lang=kk", "email")
    assert characters(driver) == LATIN | DIGITS | set("@._-")
    assert [k["text"] for k in keys(driver) if k["k"] == "kz"] == [".kz"]
    touch_type(driver, "aigul@mail")
    key(driver, action="kz").click()
    assert field.get_attribute("value") == "aigul@mail.kz"
    assert active_id(driver) == "email"


def test_russian_page_gets_russian_letters_and_the_switch_works(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=ru", "project_title")
    assert letters(driver) == RUSSIAN
    assert key(driver, "ж").get_attribute("lang") == "ru"  # read by a Russian voice
    pressed = [k["text"] for k in keys(driver) if k["pressed"] == "true"]
    assert pressed == ["Рус"]
    for layout, expected in [("kk", KAZAKH), ("en", LATIN), ("ru", RUSSIAN)]:
        key(driver, action=layout).click()
        assert letters(driver) == expected, layout
    key(driver, action="num").click()
    assert characters(driver) >= DIGITS
    assert active_id(driver) == "project_title"
    touch_type(driver, "2026")
    assert field.get_attribute("value") == "2026"


# 3. Buttons with names, large enough, far enough apart ----------------------------------------

_GEOMETRY = """
return [...document.querySelectorAll('.osk button')].map((b) => {
  const r = b.getBoundingClientRect();
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, text: b.textContent};
});
"""


def check_keys(driver) -> list[str]:
    problems = []
    buttons = driver.find_elements(By.CSS_SELECTOR, ".osk button")
    assert buttons
    for button in buttons:
        label = button.text or button.get_attribute("data-k")
        if button.tag_name != "button" or button.get_attribute("type") != "button":
            problems.append(f"{label}: not a <button type=button>")
        if button.aria_role != "button" or not button.accessible_name.strip():
            problems.append(f"{label}: role {button.aria_role!r}, name {button.accessible_name!r}")
    rects = driver.execute_script(_GEOMETRY)
    for i, a in enumerate(rects):
        width, height = a["right"] - a["left"], a["bottom"] - a["top"]
        if width < 48 or height < 56:
            problems.append(f"{a['text']}: {width:.1f}×{height:.1f} px")
        for b in rects[i + 1 :]:
            apart = max(
                b["left"] - a["right"], a["left"] - b["right"], b["top"] - a["bottom"],
                a["top"] - b["bottom"],
            )  # fmt: skip
            if apart < 8:
                problems.append(f"{a['text']} and {b['text']}: {apart:.1f} px apart")
    return problems


@pytest.mark.parametrize(
    ("path", "field_id", "layout"),
    [
        ("/apply/title?lang=kk", "project_title", "kk"),
        ("/apply/title?lang=ru", "project_title", "ru"),
        ("/apply/title?lang=en", "project_title", "en"),
        ("/apply/title?lang=kk", "project_title", "num"),
        ("/apply/problem?lang=kk", "problem", "kk"),
        ("/apply/people?lang=kk", "helped_last_year", "digits"),
        ("/apply/contact?lang=kk", "phone", "tel"),
        ("/apply/contact?lang=kk", "email", "email"),
    ],
)
def test_every_key_is_a_named_button_of_48_px_or_more_8_px_apart(kiosk, path, field_id, layout):
    driver, base = kiosk
    open_keyboard(driver, base + path, field_id)
    if layout == "num":
        key(driver, action="num").click()
    problems = check_keys(driver)
    assert not problems, "\n".join(problems)


def test_key_names_are_translated(kiosk):
    driver, base = kiosk
    open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    names = {
        action: key(driver, action=action).accessible_name
        for action in ("shift", "back", "space", "close", "kk", "en")
    }
    assert names == {
        "shift": "Бас әріп",
        "back": "Өшіру",
        "space": "Бос орын",
        "close": "Жабу",
        "kk": "Қаз, Қазақ әріптері",
        "en": "Lat, Латын әріптері",
    }
    assert driver.find_element(By.CSS_SELECTOR, ".osk").accessible_name == "Пернетақта"


# 4. axe-core ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field_id"),
    [("/apply/title?lang=kk", "project_title"), ("/apply/contact?lang=ru", "phone")],
)
def test_axe_finds_nothing_with_the_keyboard_open(kiosk, path, field_id):
    driver, base = kiosk
    open_keyboard(driver, base + path, field_id)
    if field_id == "project_title":
        key(driver, action="shift").click()  # the pressed state is checked too
    problems = axe_problems(driver)
    assert not problems, "\n".join(problems)


def test_axe_finds_nothing_with_the_keyboard_open_in_high_contrast(kiosk):
    driver, base = kiosk
    driver.get(f"{base}/accessibility?lang=kk")
    set_answers(driver, {"theme": "high-contrast", "text_size": "standard"})
    press_main_button(driver)
    open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    assert "theme-high-contrast" in driver.execute_script(
        "return document.documentElement.className"
    )
    problems = axe_problems(driver, aaa=True)
    assert not problems, "\n".join(problems)
    check = check_keys(driver)
    assert not check, "\n".join(check)


# 5. Keyboard and switch -----------------------------------------------------------------------


def keys_down(driver, *names: str) -> None:
    """Real key presses, as a keyboard or a switch interface sends them (fresh chain each time:
    a reused ActionChains would replay its earlier keys)."""
    chain = ActionChains(driver)
    for name in names:
        chain.send_keys(name)
    chain.perform()


_FOCUSED_KEY = """
const b = document.activeElement, row = b.parentNode;
return {c: b.dataset.c || null, k: b.dataset.k || null,
        row: [...row.parentNode.children].indexOf(row), column: [...row.children].indexOf(b)};
"""


def test_tab_into_a_key_and_enter_types_it(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    keys_down(driver, Keys.TAB)
    assert driver.execute_script(_FOCUSED_KEY) == {"c": "ә", "k": None, "row": 0, "column": 0}
    keys_down(driver, Keys.ENTER)
    assert field.get_attribute("value") == "ә"
    assert driver.execute_script(_FOCUSED_KEY)["c"] == "ә"  # focus stays on the key
    # Every key is on the way of Tab (a switch moves by Tab): the next stop is the next key.
    keys_down(driver, Keys.TAB, Keys.ENTER)
    assert field.get_attribute("value") == "әі"
    # Arrows move too: down to the row below, right along it; Space types like Enter.
    keys_down(driver, Keys.ARROW_DOWN)
    below = driver.execute_script(_FOCUSED_KEY)
    assert below["row"] == 1, below
    keys_down(driver, Keys.ARROW_RIGHT)
    right = driver.execute_script(_FOCUSED_KEY)
    assert (right["row"], right["column"]) == (1, below["column"] + 1), right
    keys_down(driver, Keys.SPACE)
    assert field.get_attribute("value") == "әі" + right["c"]
    keys_down(driver, Keys.END)
    assert driver.execute_script(_FOCUSED_KEY)["c"] == "ъ"
    # Escape closes the panel and gives focus back to the field.
    keys_down(driver, Keys.ESCAPE)
    assert not panel_open(driver)
    assert active_id(driver) == "project_title"


def test_keyboard_shift_and_layout_switch_keep_focus_in_the_panel(kiosk):
    driver, base = kiosk
    field = open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")

    def enter_on(selector: str) -> None:
        driver.execute_script("document.querySelector(arguments[0]).focus()", selector)
        keys_down(driver, Keys.ENTER)

    enter_on(".osk [data-k=en]")
    assert letters(driver) == LATIN
    assert driver.execute_script(_FOCUSED_KEY)["k"] == "en"  # the new layout's own key
    assert panel_open(driver)
    enter_on(".osk [data-k=shift]")
    assert key(driver, action="shift").get_attribute("aria-pressed") == "true"
    enter_on(".osk [data-c=q]")
    keys_down(driver, Keys.ENTER)
    assert field.get_attribute("value") == "Qq"
    enter_on(".osk [data-k=close]")
    assert not panel_open(driver)
    assert active_id(driver) == "project_title"


def test_leaving_the_fields_closes_it(kiosk):
    driver, base = kiosk
    open_keyboard(driver, f"{base}/apply/title?lang=kk", "project_title")
    driver.execute_script("document.querySelector('main button[type=submit]').focus()")
    WebDriverWait(driver, 2, poll_frequency=0.02).until(lambda d: not panel_open(d))


# Without JavaScript, and outside kiosk mode ---------------------------------------------------


def test_without_javascript_there_is_no_panel_and_the_field_works(browser_without_js, kiosk_server):
    driver = browser_without_js
    driver.delete_all_cookies()
    driver.get(f"{kiosk_server}/apply/title?lang=kk")
    assert not driver.find_elements(By.CSS_SELECTOR, ".osk")
    assert not driver.find_element(By.ID, "keyboard-labels").is_displayed()
    field = driver.find_element(By.ID, "project_title")
    field.send_keys("Жоба")
    assert field.get_attribute("value") == "Жоба"
    driver.delete_all_cookies()


def test_not_loaded_outside_kiosk_mode(browser, live_server):
    browser.delete_all_cookies()
    browser.get(f"{live_server}/apply/title?lang=kk")
    assert not browser.find_elements(By.CSS_SELECTOR, "#keyboard-labels, .osk")
    assert not browser.find_elements(By.CSS_SELECTOR, "script[src$='keyboard.js']")
