"""How long saving and resuming an application takes, with kiosk.saved's real scrypt parameters.

`python bench/saved.py` (option --runs, default 20) measures, in this one process:

1. scrypt alone (kiosk.saved.SCRYPT: n=2^14, r=8, p=1, 16 MiB) and AES-256-GCM alone on the
   JSON of a whole application, to show where the time goes;
2. `saved.seal` and `saved.open_blob`: the KDF and the cipher together, as a save and a
   resume run them;
3. `saved.save` and `saved.resume` on an app with its own temporary database (inside
   `app.test_request_context`): one KDF plus the SQLite transactions, fsync, the draft
   deleted and the WAL emptied;
4. whether a KDF holds the GIL (waitress serves every page from threads of one process):
   how much a pure-Python loop gets done in another thread meanwhile, and two KDFs at once
   in two threads against one;
5. the process's peak memory before and after the first KDF.

It prints figures and asserts nothing. The ms are wall-clock times; other programs on the
machine raise them.
"""

# ruff: noqa: E402 (imports follow the sys.path fix)
from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on the path, where bench/queue.py would stand
# in for the standard library's `queue` module: take it off, and put the checkout first.
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))

import argparse
import json
import platform
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from kiosk import create_app, drafts, return_codes, saved
from tests.helpers import answers_for
from tests.keys import NODE_KEYS

MiB = 1024 * 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(runs: int, action: Callable[[], object]) -> list[float]:
    """Milliseconds of `runs` calls of `action`, after one call not counted (warm-up)."""
    action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def application() -> dict:
    """The answers of a whole NGO application, as a draft holds them."""
    return {name: value for _slug, data in answers_for("ngo") for name, value in data.items()}


def kdf(code: str, params: dict = saved.SCRYPT) -> bytes:
    """One key from the code, as kiosk.saved derives it (a Scrypt object derives only once)."""
    scrypt = Scrypt(salt=os.urandom(saved.SALT_BYTES), length=32, **params)
    return scrypt.derive(code.replace("-", "").encode("ascii"))


def peak_rss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(code: str) -> tuple[float, float]:
    """Peak memory before and after one KDF (run before anything else allocates much)."""
    before = peak_rss_mib()
    kdf(code)
    return before, peak_rss_mib()


def crypto_only(runs: int, code: str) -> dict[str, list[float]]:
    """scrypt, AES-GCM, seal and open_blob, with no app and no database."""
    content = saved.Saved(application(), "00000000-0000-4000-8000-000000000000", "kk")
    plaintext = json.dumps(content.__dict__, ensure_ascii=False).encode("utf-8")
    key, nonce = os.urandom(32), os.urandom(saved.NONCE_BYTES)
    blob = saved.seal(code, content, "2027-06-30T18:59:59+00:00", params=saved.SCRYPT)
    return {
        "scrypt alone": timed(runs, lambda: kdf(code)),
        f"AES-256-GCM alone ({len(plaintext):,} B)": timed(
            runs, lambda: AESGCM(key).encrypt(nonce, plaintext, b"lookup|1")
        ),
        "seal (scrypt + AES-GCM)": timed(
            runs, lambda: saved.seal(code, content, blob["expires_at"], params=saved.SCRYPT)
        ),
        "open_blob (scrypt + AES-GCM)": timed(runs, lambda: saved.open_blob(code, blob)),
    }


def save_and_resume(runs: int) -> dict[str, list[float]]:
    """saved.save and saved.resume on an app with its own database, as the views call them."""
    folder = Path(tempfile.mkdtemp(prefix="bench-saved-"))
    app = create_app(
        {
            "INSTANCE": folder,
            "DATABASE": str(folder / "kiosk.sqlite3"),
            "SECRET_KEY": "bench",
            **NODE_KEYS,
        }
    )
    saves: list[float] = []
    resumes: list[float] = []
    try:
        with app.test_request_context("/"):
            for run in range(runs + 1):  # the first round is the warm-up
                saved_ms, resumed_ms = _one_round()
                if run:
                    saves.append(saved_ms)
                    resumes.append(resumed_ms)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "save (seal + SQLite, draft deleted)": saves,
        "resume (find + open + new draft)": resumes,
    }


def _one_round() -> tuple[float, float]:
    """A draft with a whole application saved, then resumed: (save ms, resume ms)."""
    draft = drafts.create()
    draft.answers.update(application())
    drafts.save(draft)
    started = time.perf_counter()
    code, _until = saved.save(draft, "kk")
    saved_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    saved.resume(code, saved.find(code))
    return saved_ms, (time.perf_counter() - started) * 1000


def parallel(code: str, rounds: int) -> tuple[float, float]:
    """Median ms of one KDF alone, and of two at once in two threads (wall clock)."""

    def two() -> None:
        threads = [threading.Thread(target=kdf, args=(code,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return statistics.median(timed(rounds, lambda: kdf(code))), statistics.median(
        timed(rounds, two)
    )


def _count_for(seconds: float) -> int:
    """How many turns of a pure-Python loop fit in `seconds` on this thread."""
    turns, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        turns += 1
    return turns


def gil_share(code: str) -> float:
    """Python work another thread gets done during a KDF, as a share of the same time alone.

    Near 0 if the KDF held the GIL (every page of the node would wait for a resume); near 1
    if it lets go (a resume then costs a core, not the whole process).
    """
    seconds = 0.08  # well inside one KDF
    alone = _count_for(seconds)
    worker = threading.Thread(target=kdf, args=(code,))
    worker.start()
    time.sleep(0.005)
    during = _count_for(seconds)
    worker.join()
    return during / alone


def other_costs(runs: int, code: str) -> dict[str, list[float]]:
    """scrypt alone with twice and four times the memory: what a larger n would cost."""
    rows = {}
    for n in (saved.SCRYPT["n"] * 2, saved.SCRYPT["n"] * 4):
        params = {**saved.SCRYPT, "n": n}
        label = f"scrypt n=2^{n.bit_length() - 1} ({128 * n * params['r'] // MiB} MiB), to compare"
        rows[label] = timed(runs, lambda params=params: kdf(code, params))
    return rows


def ms(value: float) -> str:
    """Milliseconds to one decimal, or to three below 1 ms (the cipher's microseconds)."""
    return f"{value:.3f}" if value < 1 else f"{value:.1f}"


def print_table(rows: dict[str, list[float]]) -> None:
    print("| measure | median ms | p90 ms | min ms | max ms | runs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, samples in rows.items():
        print(
            f"| {name} | {ms(statistics.median(samples))} | {ms(percentile(samples, 0.9))}"
            f" | {ms(min(samples))} | {ms(max(samples))} | {len(samples)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    code = return_codes.new_code()
    n, r, p = saved.SCRYPT["n"], saved.SCRYPT["r"], saved.SCRYPT["p"]
    print(
        f"nproc {os.cpu_count()}, Python {platform.python_version()}, "
        f"cryptography {version('cryptography')} ({backend.openssl_version_text()}), "
        f"{platform.system()} {platform.machine()}"
    )
    print(f"scrypt n=2^{n.bit_length() - 1}, r={r}, p={p}: {128 * n * r / MiB:.0f} MiB per KDF")
    before, after = memory(code)
    print(f"peak memory: {before:.1f} MiB before the first KDF, {after:.1f} MiB after\n")
    print_table({**crypto_only(runs, code), **save_and_resume(runs), **other_costs(runs, code)})
    share = statistics.median(gil_share(code) for _ in range(5))
    print(f"\nPython work in another thread during a KDF: {share:.0%} of what it does alone")
    one, two = parallel(code, max(5, runs // 2))
    print(
        f"scrypt in threads: one alone {one:.1f} ms, two at once {two:.1f} ms "
        f"({two / one:.2f}× one; 1.0 = run side by side, 2.0 = one after the other)"
    )


if __name__ == "__main__":
    main()
