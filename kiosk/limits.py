"""Rate limits per address: new drafts, staff sign-in attempts, status look-ups and failed resumes.

Flask-Limiter counts them (moving windows, so nobody doubles up at a window's
edge). The address is `request.remote_addr`: behind the trusted proxy waitress
sets it from `X-Forwarded-For`, so each person counts alone, and one person's
failed sign-ins no longer lock out every member of staff behind the same proxy.

The amounts come from `LIMIT_DRAFTS`, `LIMIT_LOGIN`, `LIMIT_STATUS` and `LIMIT_RESUME`
(``"20 per minute; 200 per hour"``); a resume counts only when its code opened nothing
(`count_failed_resume`), and the registry uses the same arithmetic for its miss limit per
node (`failures_wait`, `count_failure`). Counts are kept in memory, so they are per
process and start again on a restart: right for a node that runs one waitress
process. To share them between processes, set `RATELIMIT_STORAGE_URI` in the
app's config to a Flask-Limiter storage such as ``redis://127.0.0.1:6379``.

A refused request gets 429 with `Retry-After` and a translated page in the site
layout, whichever limit refused it.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from .config import ConfigError

EXTENSION = "kiosk_limiter"
SETTINGS = ("LIMIT_DRAFTS", "LIMIT_LOGIN", "LIMIT_STATUS", "LIMIT_RESUME")
DEFAULT_WAIT = 60  # seconds, when no limit says how long (a bare abort(429))


def client_address() -> str:
    """Whom a request is counted against: its address, as the trusted proxy gave it."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    """One limiter per app, so each app (and each test) has counts of its own."""
    for setting in SETTINGS:
        _check(setting, app.config[setting])
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.extensions[EXTENSION] = Limiter(
        key_func=client_address,
        app=app,
        strategy="moving-window",
        key_prefix="kiosk",
    )
    app.before_request(_limit_status_lookups)
    app.register_error_handler(429, too_many_requests)


def _check(setting: str, value: str) -> None:
    """Stop the start on a limit Flask-Limiter cannot read: it would skip it silently."""
    try:
        usable = all(limit.amount >= 1 for limit in parse_many(value))
    except ValueError:
        usable = False
    if not usable:
        raise ConfigError(
            f"KIOSK_{setting} must look like '20 per minute; 200 per hour', not {value!r}"
        )


def _limiter() -> Limiter:
    return current_app.extensions[EXTENSION]


def count_new_draft() -> None:
    """Count a new application; RateLimitExceeded when this address made too many."""
    with _limiter().shared_limit(lambda: current_app.config["LIMIT_DRAFTS"], scope="drafts"):
        pass


def count_sign_in() -> None:
    """Count a staff sign-in attempt; RateLimitExceeded when this address tried too often."""
    with _limiter().shared_limit(lambda: current_app.config["LIMIT_LOGIN"], scope="sign-in"):
        pass


def count_status_lookup() -> None:
    """Count a status look-up by reference; RateLimitExceeded when too many were asked."""
    with _limiter().shared_limit(lambda: current_app.config["LIMIT_STATUS"], scope="status"):
        pass


RESUME_SCOPE = "kiosk-resume"


def count_failed_resume() -> None:
    """Count a return code that opened nothing here or at the registry, for this address."""
    count_failure(_limiter(), current_app.config["LIMIT_RESUME"], RESUME_SCOPE, client_address())


def resume_wait() -> int:
    """Seconds until this address may try a code again; 0 while it may try now.

    Checked before any code is tried, so a guesser who used up the failures learns
    nothing more, right codes included, until the window lets them through.
    """
    return failures_wait(
        _limiter(), current_app.config["LIMIT_RESUME"], RESUME_SCOPE, client_address()
    )


def count_failure(limiter: Limiter, amounts: str, scope: str, key: str) -> None:
    """Count one failure for `key` against every limit in `amounts` (also the registry's)."""
    for amount in parse_many(amounts):
        limiter.limiter.hit(amount, scope, key)


def failures_wait(limiter: Limiter, amounts: str, scope: str, key: str) -> int:
    """Seconds until `key` is under every limit in `amounts` again; 0 while it is now."""
    strategy = limiter.limiter
    waits = [
        strategy.get_window_stats(amount, scope, key).reset_time - time.time()
        for amount in parse_many(amounts)
        if not strategy.test(amount, scope, key)
    ]
    return max(1, math.ceil(max(waits))) if waits else 0


def _limit_status_lookups() -> None:
    """Only a look-up (a reference given) counts, not the empty form asking for one."""
    if request.endpoint == "journey.status" and "reference" in request.args:
        count_status_lookup()


def seconds_to_wait() -> int:
    """How long until the limit that refused this request lets it through again."""
    limit = _limiter().current_limit
    if limit is None:
        return DEFAULT_WAIT
    return max(1, math.ceil(limit.reset_at - time.time()))


def too_many_requests(error: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    """A calm "please wait" page, with the wait in `Retry-After` for programs."""
    return render_template("errors/429.html"), 429, {"Retry-After": str(seconds_to_wait())}
