"""Read aloud: the page's own words spoken by espeak-ng, cached on disk.

Browsers rarely have a Kazakh voice, so static/js/speech.js asks the server:
`GET /speech?lang=kk&text=...` answers a WAV made by `espeak-ng -v kk`.

GET, not POST: the request changes nothing (the cache is the server's own business),
so there is nothing for a CSRF token to protect, and `<audio>` plays a plain URL.
The text is page text that every visitor sees (headings, questions, hints, options,
error messages), never an answer someone typed: the script sends no input values.
Even so, this module never logs the text. Requests from another site are refused
(Sec-Fetch-Site), at most two syntheses run at once, and the text is passed to
espeak-ng on its standard input, never through a shell or as an argument.

When espeak-ng is missing, busy, slow or fails, the answer is 503 and the browser
speaks with its own voice instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from .validators import clean_line

bp = Blueprint("speech", __name__)
log = logging.getLogger(__name__)

VOICES = {"kk": "kk", "ru": "ru", "en": "en"}  # the page's language -> espeak-ng voice
# The Russian voice drops the letters only Kazakh has («Ұлытау» comes out as «Лытау») or
# spells them out: it is given the nearest Russian letter instead. The Kazakh voice has them.
RUSSIAN_LETTERS = str.maketrans("ӘәІіҢңҒғҮүҰұҚқӨөҺһ", "АаИиНнГгУуУуКкОоХх")
MAX_CHARS = 1500
RUNNING = threading.BoundedSemaphore(2)
STALE_TEMP_SECONDS = 600
WINDOWS_ESPEAK = r"C:\Program Files\eSpeak NG\espeak-ng.exe"


def _error(code: int, error: str, message: str) -> tuple[Response, int]:
    return jsonify(error=error, message=message), code


@bp.get("/speech")
def speak():
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return _error(403, "cross_site", "Speech is only for this site's own pages.")
    lang = request.args.get("lang", "")
    if lang not in VOICES:
        return _error(400, "unknown_language", "lang must be one of: kk, ru, en.")
    raw = request.args.get("text", "")
    if len(raw) > MAX_CHARS:
        return _error(413, "too_long", f"text must be {MAX_CHARS} characters or fewer.")
    text = clean_line(raw)
    if not text:
        return _error(400, "no_text", "text is empty.")
    if lang == "ru":
        text = text.translate(RUSSIAN_LETTERS)

    path = cache_folder() / f"{hashlib.sha256(f'{lang}\n{text}'.encode()).hexdigest()}.wav"
    wav = _cached(path)
    if wav is None:
        wav = synthesise(lang, text)
        if wav is None:
            return _error(503, "unavailable", "Speech is not available; use the browser's own.")
        _store(path, wav)
    return Response(wav, mimetype="audio/wav")


def synthesise(lang: str, text: str) -> bytes | None:
    """The WAV for `text` in `lang`, or None when espeak-ng is missing, busy, slow or fails."""
    config = current_app.config
    executable = find_espeak(config["SPEECH_ESPEAK"])
    if executable is None:
        log.warning("espeak-ng not found: read aloud falls back to the browser's voices")
        return None
    if not RUNNING.acquire(timeout=config["SPEECH_TIMEOUT"]):
        log.warning("speech synthesis busy")
        return None
    started = time.monotonic()
    try:
        result = subprocess.run(
            [executable, "-v", VOICES[lang], "--stdin", "--stdout", "-b", "1"],
            input=text.encode("utf-8", "replace"),
            capture_output=True,
            timeout=config["SPEECH_TIMEOUT"],
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("espeak-ng timed out after %ss (%s)", config["SPEECH_TIMEOUT"], lang)
        return None
    except OSError as error:
        log.warning("espeak-ng could not start: %s", type(error).__name__)
        return None
    finally:
        RUNNING.release()
    wav = result.stdout
    if result.returncode != 0 or len(wav) <= 44 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        log.warning("espeak-ng failed (%s, exit %s)", lang, result.returncode)  # not its stderr
        return None
    log.debug("espeak-ng: %d bytes in %.3fs (%s)", len(wav), time.monotonic() - started, lang)
    return with_sizes(wav)


def find_espeak(name: str) -> str | None:
    """espeak-ng on PATH, or where its Windows installer puts it (which is not on PATH)."""
    found = shutil.which(name)
    if found is None and os.name == "nt" and name == "espeak-ng":
        found = shutil.which(WINDOWS_ESPEAK)
    return found


def with_sizes(wav: bytes) -> bytes:
    """Fill in the RIFF and data sizes, which espeak-ng cannot go back to write on a pipe."""
    data = bytearray(wav)
    struct.pack_into("<I", data, 4, len(data) - 8)
    position = 12
    while position + 8 <= len(data):
        chunk = bytes(data[position : position + 4])
        (size,) = struct.unpack_from("<I", data, position + 4)
        if chunk == b"data":
            struct.pack_into("<I", data, position + 4, len(data) - position - 8)
            break
        position += 8 + size + (size & 1)
    return bytes(data)


# The cache: <instance>/speech/<sha256 of language and text>.wav, oldest use deleted first -----


def cache_folder() -> Path:
    folder = Path(current_app.instance_path) / "speech"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _cached(path: Path) -> bytes | None:
    try:
        wav = path.read_bytes()
        os.utime(path)  # a file in use is the last to go
    except FileNotFoundError:  # never made, or pruned by another request just now
        return None
    return wav


def _store(path: Path, wav: bytes) -> None:
    """Write to a temporary file, then rename: a reader never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(wav)
        os.replace(temporary, path)
    except OSError as error:  # a full disk: answer anyway, without caching
        log.warning("speech cache not written: %s", type(error).__name__)
        Path(temporary).unlink(missing_ok=True)
        return
    prune(path.parent, current_app.config["SPEECH_CACHE_MB"] * 1024 * 1024)


def prune(folder: Path, limit: int) -> None:
    """Delete the least recently used WAVs until the folder holds at most `limit` bytes."""
    files = []
    now = time.time()
    for entry in os.scandir(folder):
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue
        if entry.name.endswith(".tmp"):
            if now - stat.st_mtime > STALE_TEMP_SECONDS:  # left by a process that died
                Path(entry.path).unlink(missing_ok=True)
        elif entry.name.endswith(".wav"):
            files.append((stat.st_mtime, stat.st_size, entry.path))
    total = sum(size for _, size, _ in files)
    for _, size, name in sorted(files):
        if total <= limit:
            break
        Path(name).unlink(missing_ok=True)
        total -= size


def init_app(app: Flask) -> None:
    app.config.setdefault("SPEECH_ESPEAK", "espeak-ng")  # a name on PATH, or a full path
    app.config.setdefault("SPEECH_TIMEOUT", 10)  # seconds for one synthesis
    app.config.setdefault("SPEECH_CACHE_MB", 50)
    app.register_blueprint(bp)
