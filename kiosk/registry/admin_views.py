"""The registry's pages for its administrators: sign in and out, display settings, and
every node at a glance (its page is admin_nodes.py, registered here behind the sign-in).

The pages are the node's own templates, macros and stylesheets (templates/registry/
extends nothing of the node's layout, which links node pages), in Kazakh, Russian or
English chosen as on the node (kiosk/i18n.py: ?lang=, then the session, then
Accept-Language), with the node's contrast and text size settings; they need no
JavaScript.

Accounts are the registry's own (admins.py). A session ends after 30 minutes without a
request or 8 hours after sign-in, as a node's staff session does; the cookie is signed
with REGISTRY_SECRET_KEY (made once and kept in the instance folder when unset:
deployment.kept_secret_key),
HttpOnly, SameSite=Strict and Secure whenever the request came over HTTPS. Sign-in
attempts are limited per address (ADMIN_LIMIT_LOGIN) as well as locked per user name
(admins.py), and every sign-in, failed sign-in and sign-out goes to the registry's audit
log (audit_log.py) with the address it came from: behind a proxy named in TRUSTED_PROXY
(REGISTRY_TRUSTED_PROXY), the client's (deployment.FromTrustedProxy). When the database is away the
pages say so in a page of their own (503 with Retry-After), not in the API's JSON.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded
from markupsafe import Markup

from .. import assets, preferences, security
from ..config import ROOT
from ..limits import client_address
from ..urls import safe_local_path
from . import admin_nodes, admins, audit_log
from .admin_forms import ConfirmForm, LoginForm
from .database import Unavailable, get_db
from .deployment import FromTrustedProxy, kept_secret_key

bp = Blueprint(
    "registry_admin", __name__, url_prefix="/admin", template_folder=str(ROOT / "templates")
)

IDLE = timedelta(minutes=30)
LONGEST = timedelta(hours=8)
LIMITER = "registry_admin_limiter"
LOGIN_SCOPE = "registry-admin-sign-in"
DEFAULT_LIMIT = "10 per minute; 100 per hour"  # sign-in attempts per address
KEPT = ("lang", "theme", "text_size")  # a person's own choices outlive their sign-in
SESSION_KEYS = ("admin_id", "admin_version", "admin_since", "admin_seen")


# Who is signed in ----------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _fresh_session(**values: object) -> None:
    """Drop everything of the previous session except the language and display choices."""
    kept = {key: session[key] for key in KEPT if key in session}
    session.clear()
    session.update(kept, **values)


def current_admin() -> admins.Admin | None:
    """The signed-in administrator, or None (also once the session has run out)."""
    if "registry_admin" in g:
        return g.registry_admin
    g.registry_admin = None
    admin_id = session.get("admin_id")
    if admin_id is not None:
        admin = admins.get(get_db(), admin_id)
        if _still_valid(admin):
            session["admin_seen"] = _now().isoformat()
            g.registry_admin = admin
        else:
            for key in SESSION_KEYS:
                session.pop(key, None)
    return g.registry_admin


def _still_valid(admin: admins.Admin | None) -> bool:
    if admin is None or admin.disabled or session.get("admin_version") != admin.session_version:
        return False
    try:
        since = datetime.fromisoformat(session["admin_since"])
        seen = datetime.fromisoformat(session["admin_seen"])
    except (KeyError, TypeError, ValueError):
        return False
    now = _now()
    return now - since < LONGEST and now - seen < IDLE


def admin_required(view: Callable) -> Callable:
    """Anyone not signed in goes to the sign-in page, and comes back here after it."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if current_admin() is None:
            return redirect(url_for("registry_admin.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return guarded


def _audit(event: str, actor: str, **detail: object) -> None:
    audit_log.record(get_db(), event, actor, {"address": client_address(), **detail})


# Sign in and out -----------------------------------------------------------------------


@bp.get("")
@admin_required
def home():
    return redirect(url_for("registry_admin.nodes"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "POST":
        _count_sign_in()
    if form.validate_on_submit():
        try:
            admin = admins.authenticate(get_db(), form.username.data, form.password.data)
        except admins.LoginRefused as refused:
            actor = refused.admin.username if refused.admin else "unknown user name"
            _audit("admin_login_failed", actor, reason=refused.reason)
            form.password.errors.append(
                _l(
                    "Too many wrong attempts. Wait 15 minutes and try again, "
                    "or ask an administrator."
                )
                if refused.locked
                else _l("The user name or password is not right")
            )
        else:
            now = _now().isoformat()
            _fresh_session(
                admin_id=admin.id,
                admin_version=admin.session_version,
                admin_since=now,
                admin_seen=now,
            )
            _audit("admin_login", admin.username)
            target = safe_local_path(request.args.get("next"), None)
            return redirect(target or url_for("registry_admin.nodes"), 303)
    elif request.method == "POST" and form.csrf_token.errors:
        form.form_errors.append(
            _l("This page has expired. Enter your user name and password again.")
        )
        return render_template("registry/login.html", form=form), 400
    return render_template("registry/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out: with the form's token, every copy of this session ends, and it is audited.

    Without a valid token only this browser's session ends: a forged form can do no more
    than sign someone out of the one browser it was sent from.
    """
    admin = current_admin()
    if admin is not None and ConfirmForm().validate_on_submit():
        admins.end_sessions(get_db(), admin.id)
        _audit("admin_logout", admin.username)
    _fresh_session()
    flash(_l("You have signed out."), "notice")
    return redirect(url_for("registry_admin.login"), 303)


# Display settings ----------------------------------------------------------------------


@bp.route("/accessibility", methods=["GET", "POST"])
def accessibility():
    """Contrast and text size, kept in the session as on the node (kiosk/preferences.py)."""
    back = safe_local_path(request.args.get("next"), None) or url_for("registry_admin.nodes")
    form = preferences.PreferencesForm(data=preferences.current())
    if form.validate_on_submit():
        session["theme"] = form.theme.data
        session["text_size"] = form.text_size.data
        return redirect(back, 303)
    return render_template("registry/accessibility.html", form=form, back=back)


# Every node: the page is admin_nodes.py's, for administrators only ----------------------

bp.add_url_rule("/nodes", view_func=admin_required(admin_nodes.nodes))


# The app's side ------------------------------------------------------------------------


def _count_sign_in() -> None:
    """Count a sign-in attempt from this address; RateLimitExceeded when it tried too often."""
    limiter: Limiter = current_app.extensions[LIMITER]
    with limiter.shared_limit(lambda: current_app.config["ADMIN_LIMIT_LOGIN"], scope=LOGIN_SCOPE):
        pass


@bp.errorhandler(RateLimitExceeded)
def too_many_requests(_error: RateLimitExceeded):
    limit = current_app.extensions[LIMITER].current_limit
    wait = max(1, math.ceil(limit.reset_at - time.time())) if limit else 60
    return render_template("registry/wait.html"), 429, {"Retry-After": str(wait)}


@bp.errorhandler(Unavailable)
def database_unavailable(_error: Unavailable):
    """The database is away or locked: a page saying so, in the page's language.

    The registry's API answers this with JSON (api.py); people get a page, with the
    same Retry-After. Nothing on it asks the database again: whoever is signed in
    already is shown as such, and otherwise nobody is.
    """
    g.setdefault("registry_admin", None)
    if request.method == "GET":
        again = request.full_path.rstrip("?")
    elif request.endpoint == "registry_admin.logout":
        again = url_for("registry_admin.nodes")
    else:
        again = request.path
    return render_template("registry/unavailable.html", again=again), 503, {"Retry-After": "30"}


@bp.after_request
def _headers(response):
    """The node's security headers: strict CSP, no framing, nothing cached."""
    return security.add_headers(response)


def _serve_static(app: Flask) -> None:
    """The node's static/ (stylesheets and fonts) at /static/, as the node serves it."""
    app.static_folder = str(ROOT / "static")
    if "static" not in app.view_functions:
        app.add_url_rule(
            f"{app.static_url_path}/<path:filename>",
            endpoint="static",
            view_func=app.send_static_file,
        )


def init_app(app: Flask) -> None:
    """The pages, their session settings and key, static files, limiter and template helpers,
    and the trusted proxy's forwarded address (FromTrustedProxy) for the whole registry.

    Call after Flask-Babel is set up on the app (kiosk.i18n.init_app).
    """
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = kept_secret_key(Path(app.config["INSTANCE"]))
    if app.config["SESSION_COOKIE_NAME"] == "session":  # Flask's default: a name of our own
        app.config["SESSION_COOKIE_NAME"] = "registry_session"
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")
    app.config.setdefault("ADMIN_LIMIT_LOGIN", DEFAULT_LIMIT)
    app.session_interface = security.SessionInterface()  # Secure whenever over HTTPS
    _serve_static(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.extensions[LIMITER] = Limiter(
        key_func=client_address, app=app, strategy="moving-window", key_prefix="registry-admin"
    )
    assets.init_app(app)
    app.jinja_env.globals.update(
        preference_classes=preferences.html_classes,
        autocomplete_token=lambda token: token,  # never a shared kiosk: the browser may help
        current_admin=current_admin,
        confirm_form=ConfirmForm,
        code=lambda text: Markup('<code lang="en" translate="no">%s</code>') % text,
    )
    app.register_blueprint(bp)
    if app.config.get("TRUSTED_PROXY"):
        app.wsgi_app = FromTrustedProxy(app.wsgi_app, app.config["TRUSTED_PROXY"])
