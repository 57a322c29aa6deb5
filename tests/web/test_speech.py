"""Read aloud: GET /speech answers a WAV made by espeak-ng, cached on disk, never a 500.

These tests run the real espeak-ng (`make test` installs Debian's package), except where a
fake stands in to be slow, broken or missing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import time
import wave
from pathlib import Path

import pytest

from kiosk import speech
from tests.helpers import post_step

KAZAKH = "Жобаның атауы қандай? Комиссия жобаңызды осы қысқа атаумен таниды."


def speech_folder(app) -> Path:
    return Path(app.instance_path) / "speech"


def cache_file(app, lang: str, text: str) -> Path:
    name = hashlib.sha256(f"{lang}\n{text}".encode()).hexdigest()
    return speech_folder(app) / f"{name}.wav"


def seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as audio:
        return audio.getnframes() / audio.getframerate()


def say(client, text: str, lang: str = "kk", **headers):
    return client.get("/speech", query_string={"lang": lang, "text": text}, headers=headers)


@pytest.fixture
def runs(monkeypatch):
    """Every subprocess.run call the app makes: (argv, keyword arguments)."""
    calls = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append((list(args[0]), kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(speech.subprocess, "run", counting)
    return calls


def fake_espeak(tmp_path, body: str) -> str:
    script = tmp_path / "fake-espeak"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_kazakh_sentence_is_a_wav(client):
    response = say(client, KAZAKH)
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    wav = response.data
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert len(wav) > 20_000
    assert seconds(wav) > 0.3
    # The sizes espeak-ng leaves unknown on a pipe are filled in.
    assert int.from_bytes(wav[4:8], "little") == len(wav) - 8
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("lang", "text"),
    [("ru", "Как называется проект?"), ("en", "What is the project called?")],
)
def test_russian_and_english_too(client, lang, text):
    response = say(client, text, lang)
    assert response.status_code == 200
    assert seconds(response.data) > 0.3


def test_second_request_comes_from_the_cache(app, client, runs):
    first = say(client, KAZAKH)
    path = cache_file(app, "kk", KAZAKH)
    assert path.is_file()
    assert path.read_bytes() == first.data
    assert len(runs) == 1
    second = say(client, KAZAKH)
    assert second.status_code == 200
    assert second.data == first.data
    assert len(runs) == 1  # espeak-ng did not run again
    assert not [p for p in speech_folder(app).iterdir() if p.suffix != ".wav"]  # no temp files


def test_the_same_words_in_another_language_are_another_file(app, client, runs):
    say(client, "Алматы", "kk")
    say(client, "Алматы", "ru")
    assert len(runs) == 2
    assert cache_file(app, "kk", "Алматы").is_file() and cache_file(app, "ru", "Алматы").is_file()


def test_text_is_cleaned_before_the_cache_key(app, client, runs):
    say(client, "  Жобаның   атауы\u200b қандай?\n")
    say(client, "Жобаның атауы қандай?")
    assert len(runs) == 1
    assert cache_file(app, "kk", "Жобаның атауы қандай?").is_file()


@pytest.mark.parametrize("lang", ["de", "", "KK", "kk-KZ", "../kk", "kk; rm -rf /"])
def test_unknown_language(client, lang, runs):
    response = say(client, KAZAKH, lang)
    assert response.status_code == 400
    assert response.json["error"] == "unknown_language"
    assert runs == []


def test_missing_language_or_text(client, runs):
    assert client.get("/speech?text=Сәлем").status_code == 400
    response = client.get("/speech?lang=kk")
    assert response.status_code == 400 and response.json["error"] == "no_text"
    assert say(client, " \x00\u200b\n ").status_code == 400
    assert runs == []


def test_limit(client, runs):
    assert say(client, "а" * speech.MAX_CHARS).status_code == 200
    response = say(client, "а" * (speech.MAX_CHARS + 1))
    assert response.status_code == 413
    assert response.json["error"] == "too_long"
    assert len(runs) == 1


@pytest.mark.parametrize(
    "text",
    [
        "$(rm -rf /); `id`",
        "$(touch {marker}); `touch {marker}`; touch {marker} | touch {marker} && echo",
        "-w {marker}",
        "--compile=kk",
        "Сәлем\x00{marker}\x00; id",
        "\x1b[2J\x07\x01 Сәлем",
        "<speak><audio src='file:///etc/passwd'/></speak> [[h@l'oU]]",
    ],
)
def test_hostile_text_is_only_words(client, runs, tmp_path, text):
    marker = tmp_path / "marker"
    response = say(client, text.format(marker=marker))
    assert response.status_code in (200, 400)
    assert not marker.exists()
    for argv, kwargs in runs:
        assert kwargs.get("shell") in (None, False)
        assert argv[1:] == ["-v", "kk", "--stdin", "--stdout", "-b", "1"]  # no text in argv
        assert b"\x00" not in kwargs["input"] and b"\x1b" not in kwargs["input"]


def test_bytes_that_are_not_utf8(client, runs):
    response = client.get("/speech?lang=kk&text=%ED%A0%80%FF%20%D0%A1%D3%99%D0%BB%D0%B5%D0%BC")
    assert response.status_code == 200
    assert runs and runs[0][1]["input"].decode("utf-8")


def test_a_hundred_kilobytes(client, runs):
    response = say(client, "$(id); " * 15_000)
    assert response.status_code == 413
    assert runs == []


def test_espeak_missing_is_503(app, client, tmp_path):
    app.config["SPEECH_ESPEAK"] = str(tmp_path / "no-such-espeak-ng")
    response = say(client, KAZAKH)
    assert response.status_code == 503
    assert response.json["error"] == "unavailable"
    assert not list(speech_folder(app).iterdir())


def test_espeak_failing_or_slow_is_503(app, client, tmp_path):
    app.config["SPEECH_ESPEAK"] = fake_espeak(tmp_path, "echo 'not a wav'; exit 1")
    assert say(client, KAZAKH).status_code == 503
    app.config["SPEECH_ESPEAK"] = fake_espeak(tmp_path, "printf 'RIFF....WAVE'")  # too short
    assert say(client, KAZAKH).status_code == 503
    app.config["SPEECH_ESPEAK"] = fake_espeak(tmp_path, "exec sleep 30")
    app.config["SPEECH_TIMEOUT"] = 0.5
    started = time.monotonic()
    assert say(client, KAZAKH).status_code == 503
    assert time.monotonic() - started < 5
    assert not list(speech_folder(app).iterdir())


def test_the_text_is_never_logged(app, client, tmp_path, caplog):
    secret = "Құпия мәтін 4242"
    with caplog.at_level(logging.DEBUG):
        assert say(client, secret).status_code == 200
        app.config["SPEECH_ESPEAK"] = fake_espeak(tmp_path, 'echo "$(cat)" >&2; exit 3')
        assert say(client, secret + " екі").status_code == 503
        app.config["SPEECH_ESPEAK"] = str(tmp_path / "missing")
        assert say(client, secret + " үш").status_code == 503
    assert caplog.records  # something was logged
    assert "4242" not in caplog.text and "Құпия" not in caplog.text


def test_other_sites_may_not_use_it(client, runs):
    response = say(client, KAZAKH, **{"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert say(client, KAZAKH, **{"Sec-Fetch-Site": "same-site"}).status_code == 403
    assert say(client, KAZAKH, **{"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert len(runs) == 1


def test_cache_keeps_the_recently_used(tmp_path):
    folder = tmp_path / "speech"
    folder.mkdir()
    now = time.time()
    for age, name in enumerate(["new", "middle", "old", "oldest"]):
        path = folder / f"{name}.wav"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age * 60, now - age * 60))
    stale = folder / ".abc.tmp"
    stale.write_bytes(b"x")
    os.utime(stale, (now - 3600, now - 3600))
    fresh = folder / ".def.tmp"
    fresh.write_bytes(b"x")
    speech.prune(folder, 2500)
    assert sorted(p.name for p in folder.iterdir()) == [".def.tmp", "middle.wav", "new.wav"]


def test_cache_is_capped(tmp_path, client, app):
    app.config["SPEECH_CACHE_MB"] = 0.25  # one of these two sentences, not both
    say(client, KAZAKH)
    time.sleep(0.01)
    say(client, "Жобаның атауы қандай?")
    files = list(speech_folder(app).iterdir())
    assert [p.name for p in files] == [cache_file(app, "kk", "Жобаның атауы қандай?").name]


def test_csp_allows_our_own_audio(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "media-src 'self'" in policy


@pytest.fixture
def kiosk_client(make_app):
    return make_app(KIOSK_MODE=True).test_client()


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("kk", ["Дауыстап оқу", "Тоқтату", "Қайталау"]),
        ("ru", ["Прочитать вслух", "Остановить", "Повторить"]),
        ("en", ["Read aloud", "Stop", "Repeat"]),
    ],
)
def test_kiosk_pages_carry_the_translated_labels(kiosk_client, lang, labels):
    """Once read aloud is chosen on the kiosk, every page carries the control's labels."""
    kiosk_client.get(f"/kiosk/help?lang={lang}")
    post_step(kiosk_client, "/kiosk/help", {"read_aloud": "y"})
    page = kiosk_client.get("/apply/title").text
    assert 'id="speech-labels"' in page
    assert 'data-url="/speech"' in page
    for label in labels:
        assert f'"{label}"' in page
    assert "js/speech.js" in page


def test_web_pages_have_no_read_aloud_unless_asked(client):
    page = client.get("/apply/title?lang=kk").text
    assert "speech-labels" not in page and "speech.js" not in page


def test_kiosk_offers_read_aloud_on_the_first_screens_before_it_is_chosen(kiosk_client):
    for path in ("/kiosk", "/kiosk/help"):
        assert "js/speech.js" in kiosk_client.get(path).text
    assert "js/speech.js" not in kiosk_client.get("/apply/title").text  # not chosen
