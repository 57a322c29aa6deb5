"""Read aloud in a real browser, on a kiosk-mode server of its own.

Headless Chromium has no loudspeaker, so what is tested is what can be observed: which
audio the page asked for (window.Audio is wrapped before the page's scripts run), whether
the browser could decode it, what text was sent, the buttons' state, and the browser's own
voice being used when the server cannot speak.
"""

from __future__ import annotations

import io
import json
import urllib.request
import wave
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import AXE_SOURCE, AXE_TAGS, serve_app
from tests.nginx import ssl_context

TYPED = "Құпия жоба 4242"

# Before the page's own scripts: record every Audio the page makes and what became of it,
# play it fast (16×) so a long page finishes within the test, and record the browser's voice.
RECORDER = """
window.__speech = {audio: [], spoken: []};
const RealAudio = window.Audio;
window.Audio = function (src) {
  const audio = new RealAudio(src);
  const entry = {src: String(src), events: []};
  window.__speech.audio.push(entry);
  audio.playbackRate = 16;
  audio.defaultPlaybackRate = 16;
  for (const name of ["loadedmetadata", "playing", "pause", "ended", "error"]) {
    audio.addEventListener(name, () => {
      entry.events.push(name);
      if (name === "loadedmetadata") entry.duration = audio.duration;
      if (name === "error") entry.error = audio.error && audio.error.code;
    });
  }
  return audio;
};
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (utterance) => {
    window.__speech.spoken.push({text: utterance.text, lang: utterance.lang});
    setTimeout(() => utterance.onend && utterance.onend(new Event("end")), 50);
  };
}
"""


@pytest.fixture(scope="module")
def kiosk_server():
    """The app in kiosk mode on 127.0.0.1: (app, base URL)."""
    with serve_app(SECRET_KEY="speech", KIOSK_MODE=True) as served:
        yield served


@pytest.fixture
def recording(browser, kiosk_server):
    """A browser that records speech, for a person who chose read aloud on the kiosk."""
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    browser.get(kiosk_server[1] + "/kiosk")
    browser.delete_all_cookies()  # this server's cookies: a new person at the kiosk
    browser.get(kiosk_server[1] + "/kiosk/help?lang=kk")
    if not browser.find_element(By.ID, "read_aloud").is_selected():
        browser.find_element(By.CSS_SELECTOR, "label[for=read_aloud]").click()
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: _replaced(page))
    yield browser
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", script)
    browser.get("about:blank")  # stop whatever still plays


def _replaced(element) -> bool:
    try:
        element.is_enabled()
    except Exception:  # stale, or "not in the document": the next page has loaded
        return True
    return False


def record(driver) -> dict:
    return driver.execute_script("return window.__speech")


def wait_for(driver, condition, timeout: float = 20) -> dict:
    """Wait until condition(record) holds; return the record."""
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(record(d)))
    return record(driver)


def sent(entry: dict) -> tuple[str, dict]:
    url = urlsplit(entry["src"])
    return url.path, {k: v[0] for k, v in parse_qs(url.query).items()}


def pressed(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "main .read-aloud__read").get_attribute(
        "aria-pressed"
    )


def test_read_aloud_returns_audio_for_a_kk_page(kiosk_server, recording):
    _app, base = kiosk_server
    driver = recording
    driver.get(f"{base}/apply/title?lang=kk")
    driver.find_element(By.ID, "project_title").send_keys(TYPED)
    heading = driver.find_element(By.TAG_NAME, "h1").text.strip()
    assert heading

    buttons = driver.find_elements(By.CSS_SELECTOR, "main .read-aloud button")
    assert [b.text for b in buttons] == ["Дауыстап оқу", "Тоқтату", "Қайталау"]
    for b in buttons:
        assert b.get_attribute("type") == "button"
        assert b.size["width"] >= 48 and b.size["height"] >= 48, (b.text, b.size)
    # The control is the first thing in <main>, before the Back link.
    assert driver.execute_script(
        "return document.querySelector('main').firstElementChild.classList.contains('read-aloud')"
    )
    assert pressed(driver) == "false"

    buttons[0].click()
    first = wait_for(driver, lambda r: r["audio"] and r["audio"][0]["events"])["audio"][0]
    path, query = sent(first)
    assert path == "/speech" and query["lang"] == "kk"
    assert "error" not in first["events"], first
    wait_for(driver, lambda r: "loadedmetadata" in r["audio"][0]["events"])
    assert record(driver)["audio"][0]["duration"] > 0.3
    assert query["text"].startswith(heading)
    assert "Комиссия жобаңызды осы қысқа атаумен таниды" in query["text"]  # the hint
    assert TYPED not in query["text"] and "4242" not in query["text"]

    # The same URL, fetched again, is a WAV (from the server's cache now).
    with urllib.request.urlopen(
        first["src"] if "://" in first["src"] else base + first["src"], context=ssl_context()
    ) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        wav = r.read()
    with wave.open(io.BytesIO(wav)) as audio:
        assert audio.getnframes() / audio.getframerate() > 0.3
    assert not record(driver)["spoken"]  # the server spoke; the browser's voice was not needed


def test_stop_and_repeat(kiosk_server, recording):
    _app, base = kiosk_server
    driver = recording
    driver.get(f"{base}/apply/region?lang=kk")  # 20 regions: more than one request
    read, stop, repeat = driver.find_elements(By.CSS_SELECTOR, "main .read-aloud button")
    read.click()
    wait_for(driver, lambda r: r["audio"] and "playing" in r["audio"][0]["events"])
    assert pressed(driver) == "true"
    stop.click()
    assert pressed(driver) == "false"
    wait_for(driver, lambda r: "pause" in r["audio"][0]["events"])

    # Read aloud again goes on; the whole page plays to its end, chunk after chunk.
    read.click()
    assert pressed(driver) == "true"
    WebDriverWait(driver, 60, poll_frequency=0.1).until(lambda d: pressed(d) == "false")
    audio = record(driver)["audio"]
    texts = [sent(entry)[1]["text"] for entry in audio]
    assert len(texts) >= 2, texts
    assert all(len(text) <= 1500 for text in texts)
    assert all("ended" in entry["events"] for entry in audio), audio
    spoken = " ".join(texts)
    for label in driver.find_elements(By.CSS_SELECTOR, "main .radios__label"):
        assert label.text.strip() in spoken
    count = len(audio)

    # Repeat plays it all again from the start, from the audio it already has.
    repeat.click()
    wait_for(driver, lambda r: r["audio"][0]["events"].count("playing") >= 3)
    assert len(record(driver)["audio"]) == count
    stop.click()


def test_errors_are_read_and_the_browser_speaks_when_the_server_cannot(kiosk_server, recording):
    app, base = kiosk_server
    driver = recording
    driver.get(f"{base}/apply/title?lang=kk")
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()  # nothing typed
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".error-summary"))
    heading = driver.find_element(By.TAG_NAME, "h1").text.strip()
    error = driver.find_element(By.CSS_SELECTOR, ".error-summary__list a").text.strip()
    app.config["SPEECH_ESPEAK"] = "/nonexistent/espeak-ng"
    try:
        driver.find_element(By.CSS_SELECTOR, "main .read-aloud__read").click()
        spoken = wait_for(driver, lambda r: r["spoken"])["spoken"]
    finally:
        app.config["SPEECH_ESPEAK"] = "espeak-ng"
    assert "error" in record(driver)["audio"][0]["events"]  # the server answered 503
    assert spoken[0]["lang"] == "kk"
    text = spoken[0]["text"]
    assert text.startswith(heading)
    assert text.index(error) < text.index("Комиссия")  # the summary comes before the hint


def test_the_control_passes_axe(kiosk_server, browser):
    _app, base = kiosk_server
    browser.get(f"{base}/apply/title?lang=kk")
    browser.find_element(By.CSS_SELECTOR, "main .read-aloud")
    browser.execute_script(AXE_SOURCE)
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run('.read-aloud', JSON.parse(arguments[0]))"
        ".then((r) => done({violations: r.violations, passes: r.passes.length}),"
        " (e) => done({error: String(e)}));",
        json.dumps({"runOnly": {"type": "tag", "values": AXE_TAGS}}),
    )
    assert "error" not in result, result
    assert result["passes"] > 0
    assert result["violations"] == [], result["violations"]
