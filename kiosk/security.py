"""Headers on every response, CSRF protection, and error pages in the site layout.

The CSP allows nothing inline and nothing from another origin: kiosks may be
offline and a page must not be able to leak data elsewhere. Pages are never
cached, since most of them show someone's answers.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback

from flask import Flask, Response, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from .urls import safe_local_path

csrf = CSRFProtect()
log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def add_headers(response: Response) -> Response:
    """Put the security headers on every response.

    The referrer policy is `same-origin`, not `no-referrer`: over HTTPS Flask-WTF
    refuses a POST whose Referer is missing or from another origin, so the
    browser must send it to us (and to nobody else). HSTS (two years, subdomains
    too) is only sent over HTTPS: once a browser has seen the site that way, it
    never again sends a form or the session cookie over plain HTTP.
    """
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def csrf_error(error: CSRFError) -> tuple[str, int]:
    """A missing or stale form token: explain, and offer the way back."""
    on_journey = request.path.startswith("/apply/")
    back = safe_local_path(request.path, None) if on_journey else None
    return render_template("errors/csrf.html", back=back), 400


def http_error(error: HTTPException):
    code = error.code or 500
    if code == 413 and request.endpoint == "documents.page":  # too much at once: say so there
        return redirect(url_for("documents.page", **{"too-large": "1"}), 303)
    template = code if code in (400, 403, 404, 405, 413) else 500
    return render_template(f"errors/{template}.html"), code


def storage_error(error: sqlite3.OperationalError) -> tuple[str, int, dict]:
    """The database cannot be read or written (a full disk, a lock held too long).

    Pages that take answers handle this themselves and keep what was typed; any other
    page says the service is busy, in the site layout, and when to try again.
    """
    log.error(
        "Database unavailable on %s %s: %s",
        request.method,
        _printable(request.path),
        type(error).__name__,
    )
    return render_template("errors/503.html"), 503, {"Retry-After": "60"}


def _printable(text: str) -> str:
    """A request path as one safe log line: control characters shown escaped, length capped."""
    return text.encode("unicode_escape").decode("ascii")[:300]


def server_error(error: Exception) -> tuple[str, int]:
    """Anything unexpected: log where it happened, and show a calm page.

    Only the exception's type and stack frames are logged, never its message,
    which could hold what the applicant typed.
    """
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "Unhandled %s on %s %s\n%s",
        type(error).__name__,
        request.method,
        _printable(request.path),
        frames,
    )
    try:
        return render_template("errors/500.html"), 500
    except Exception:  # the layout itself failed: still no stack trace, still our headers
        log.error("The error page could not be rendered either")
        return FALLBACK_PAGE, 500


FALLBACK_PAGE = (
    '<!doctype html><html lang="kk"><meta charset="utf-8"><title>Қате – Ошибка – Error</title>'
    "<h1>Қате орын алды. Кейінірек қайталап көріңіз.</h1>"
    '<p lang="ru">Произошла ошибка. Попробуйте ещё раз позже.</p>'
    '<p lang="en">Something went wrong. Please try again later.</p></html>'
)


def ascii_query_string(wsgi_app):
    """Percent-encode raw bytes outside printable ASCII in the query string, as browsers do.

    Werkzeug reads the query string as UTF-8 and fails on any other byte (`?x=\\xff` from
    a script); encoded, it arrives as a replacement character instead of a 500.
    """

    def app(environ, start_response):
        raw = environ.get("QUERY_STRING", "").encode("latin-1", "replace")
        if any(byte <= 0x20 or byte >= 0x7F for byte in raw):
            environ["QUERY_STRING"] = "".join(
                chr(byte) if 0x20 < byte < 0x7F else f"%{byte:02X}" for byte in raw
            )
        return wsgi_app(environ, start_response)

    return app


def init_app(app: Flask) -> None:
    app.wsgi_app = ascii_query_string(app.wsgi_app)
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    app.after_request(add_headers)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(sqlite3.OperationalError, storage_error)
    app.register_error_handler(Exception, server_error)
