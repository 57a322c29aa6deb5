"""The registry's pages for its administrators: sign in, sign out, and every node at a glance.

/admin/nodes lists every registered node from reports_store.overview, the ones to act on
first, each flag said in words (never by colour alone), PER_PAGE at a time with GOV.UK's
pagination, and a GET form that keeps to the nodes needing attention or to one region.
The pages are the node's own templates, macros and stylesheets (templates/registry/
extends nothing of the node's layout, which links node pages), in Kazakh, Russian or
English chosen as on the node (kiosk/i18n.py: ?lang=, then the session, then
Accept-Language), with the node's contrast and text size settings; they need no
JavaScript.

Accounts are the registry's own (admins.py). A session ends after 30 minutes without a
request or 8 hours after sign-in, as a node's staff session does; the cookie is signed
with REGISTRY_SECRET_KEY (made once and kept in the instance folder when unset),
HttpOnly, SameSite=Strict and Secure whenever the request came over HTTPS. Sign-in
attempts are limited per address (ADMIN_LIMIT_LOGIN) as well as locked per user name
(admins.py), and every sign-in, failed sign-in and sign-out goes to the registry's audit
log (audit_log.py) with the address it came from: behind a proxy named in TRUSTED_PROXY
(REGISTRY_TRUSTED_PROXY), the client's (FromTrustedProxy). When the database is away the
pages say so in a page of their own (503 with Retry-After), not in the API's JSON.
"""

from __future__ import annotations

import math
import os
import secrets
import tempfile
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
from flask_babel import format_decimal, get_timezone, gettext
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import assets, preferences, security
from ..competition import regions
from ..config import ROOT
from ..i18n import current_language, plural
from ..limits import client_address
from ..urls import safe_local_path
from . import admins, audit_log, reports_store
from .admin_forms import ConfirmForm, LoginForm, NodesFilter
from .database import Unavailable, get_db

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


# Every node ----------------------------------------------------------------------------


def flag_texts(status: reports_store.NodeStatus) -> list[str]:
    """Each flag of a node in words, in the page's language."""
    texts = {
        reports_store.SILENT: (
            gettext("No report for more than 24 hours")
            if status.report
            else gettext("Has never reported")
        ),
        reports_store.WAITING: gettext("An application has waited more than a day to be sent"),
        reports_store.CLOCK: gettext("The clock is more than 5 minutes off"),
        reports_store.DISK: gettext("The disk is nearly full"),
    }
    if status.report is not None:  # only a report can tell of dead items
        dead = status.report.dead
        texts[reports_store.DEAD] = plural(
            "%(num)s application could not be sent",
            "%(num)s applications could not be sent",
            dead,
        )
    return [texts[flag] for flag in status.flags]


def _place(report: reports_store.Report | None) -> str:
    """The kiosk's name, centre and region (in the page's language) a node reported."""
    if report is None:
        return ""
    region = regions().get(report.region) if report.region else None
    names = [report.kiosk_id, report.centre, region.names[current_language()] if region else None]
    return ", ".join(name for name in names if name)


def _gigabytes(size: int) -> str:
    return gettext("%(size)s GB", size=format_decimal(size / 1024**3, format="#,##0.0"))


def _offset(moment: datetime) -> str:
    """The page's time zone as an offset people read: UTC+5."""
    offset = moment.astimezone(get_timezone()).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def rows(statuses: list[reports_store.NodeStatus]) -> list[dict]:
    """The table's rows: flagged nodes first, then by node id (overview's order)."""
    ordered = sorted(statuses, key=lambda status: not status.flags)
    made = []
    for status in ordered:
        report = status.report
        made.append(
            {
                "node_id": status.node_id,
                "place": _place(report),
                "disabled": status.disabled,
                "flags": flag_texts(status),
                "received_at": report.received_at if report else None,
                "undelivered": (
                    sum(report.outbox[state] for state in ("queued", "sending", "waiting"))
                    if report
                    else None
                ),
                "disk": _gigabytes(report.disk_free_bytes) if report else None,
            }
        )
    return made


# Paging: flagged nodes first, then the rest, PER_PAGE at a time. A page weighs, with
# everything it loads, at most 30 KB; the stylesheets and the page around the table take
# about 20 KB of it, and the heaviest row (a centre's name as long as a report may carry,
# 200 characters, and every flag, in Kazakh or Russian) about 1.1 KB: six such rows leave
# nearly 4 KB to spare (tests/web/test_registry_admin.py weighs the pages of 500 nodes).
# The list is read whole and ordered in Python (reports_store.overview works the flags out
# there): a country's few hundred nodes are quickly read.
PER_PAGE = 6
PAGE_DIGITS = 9  # a longer "page number" is no page anyone was sent to: past the end


def nodes_filter() -> NodesFilter:
    """The page's filter as asked on the URL, its regions in the page's language."""
    form = NodesFilter(request.args)
    language = current_language()
    form.region.choices = [("", gettext("All regions"))] + [
        (code, region.names[language]) for code, region in regions().items()
    ]
    if form.region.data not in regions():
        form.region.data = ""
    return form


def _wanted(status: reports_store.NodeStatus, attention: bool, region: str) -> bool:
    if attention and not status.flags:
        return False
    return not region or (status.report is not None and status.report.region == region)


def _page_number(asked: str | None, pages: int) -> tuple[int, bool]:
    """The page to show for ?page=, and whether the one asked for was past the last.

    No number, or not a whole number from 1, is the first page; past the end, the last.
    """
    if not asked or not asked.isascii() or not asked.isdigit():
        return 1, False
    if len(asked) > PAGE_DIGITS or int(asked) > pages:
        return pages, True
    return max(1, int(asked)), False


def page_links(number: int, pages: int) -> list[int | None]:
    """The page numbers to link, GOV.UK's way: the first, the last, this one and its two
    neighbours; None for an ellipsis, which never stands for a single page."""
    shown = sorted({1, pages, number - 1, number, number + 1} & set(range(1, pages + 1)))
    links: list[int | None] = []
    for page in shown:
        if links and page - links[-1] == 2:
            links.append(page - 1)
        elif links and page - links[-1] > 2:
            links.append(None)
        links.append(page)
    return links


@bp.get("/nodes")
@admin_required
def nodes():
    now = _now()
    ordered = sorted(reports_store.overview(get_db(), now), key=lambda status: not status.flags)
    flagged = sum(1 for status in ordered if status.flags)
    summary = gettext(
        "%(nodes)s, %(attention)s.",
        nodes=plural("%(num)s node", "%(num)s nodes", len(ordered)),
        attention=plural("%(num)s needs attention", "%(num)s need attention", flagged),
    )
    form = nodes_filter()
    attention, region = bool(form.attention.data), form.region.data
    selected = [status for status in ordered if _wanted(status, attention, region)]
    pages = max(1, math.ceil(len(selected) / PER_PAGE))
    number, past_end = _page_number(request.args.get("page"), pages)
    chosen = {"attention": "y" if attention else None, "region": region or None}

    def link(page: int) -> str:
        return url_for("registry_admin.nodes", **chosen, page=page if page > 1 else None)

    # Anything else on the URL (a page past the end, "page=two", an unknown region) goes to
    # the address of what is shown, so the address, the page and its links all agree.
    given = {key: value for key, value in request.args.items() if key != "lang" and value}
    canonical = {key: str(value) for key, value in chosen.items() if value}
    if number > 1:
        canonical["page"] = str(number)
    if given != canonical:
        if past_end:
            flash(_l("There is no page with that number. This is the last page."), "notice")
        return redirect(link(number))
    start = (number - 1) * PER_PAGE
    shown = selected[start : start + PER_PAGE]
    return render_template(
        "registry/nodes.html",
        rows=rows(shown),
        registered=len(ordered),
        summary=summary,
        filters=form,
        filtered=attention or bool(region),
        paging={
            "number": number,
            "pages": pages,
            "first": start + 1,
            "last": start + len(shown),
            "total": len(selected),
            "links": [(page, link(page) if page else None) for page in page_links(number, pages)],
            "previous": link(number - 1) if number > 1 else None,
            "next": link(number + 1) if number < pages else None,
        },
        every_node=url_for("registry_admin.nodes"),
        now=now,
        offset=_offset(now),
    )


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


def kept_secret_key(instance: Path) -> str:
    """The registry's session key: made once and kept in the instance folder (mode 600).

    Written to a temporary file and linked into place, so that several server processes
    starting at once (gunicorn's workers) all end up reading the one key that won.
    """
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key.")  # mode 600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: its key is the one
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def _serve_static(app: Flask) -> None:
    """The node's static/ (stylesheets and fonts) at /static/, as the node serves it."""
    app.static_folder = str(ROOT / "static")
    if "static" not in app.view_functions:
        app.add_url_rule(
            f"{app.static_url_path}/<path:filename>",
            endpoint="static",
            view_func=app.send_static_file,
        )


class FromTrustedProxy:
    """The client's address, scheme, host and port from the one proxy trusted (TRUSTED_PROXY).

    Behind nginx every request comes from nginx's address, so the sign-in limit would count
    every administrator's attempts together, and the audit log would name nginx. Waitress
    (`python run.py registry`) reads the proxy's X-Forwarded-* itself (kiosk/serving.py);
    gunicorn does not, so the app does: only for a request from that address (or from
    anyone with "*", as waitress reads it), and one hop only, the value nginx set last.
    A request from anywhere else keeps its own address, whatever it claims. Done twice
    (under waitress) it changes nothing: the values are already the ones it would set.
    """

    def __init__(self, app, proxy: str) -> None:
        self.app = app
        self.proxy = proxy
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def __call__(self, environ, start_response):
        if self.proxy == "*" or environ.get("REMOTE_ADDR") == self.proxy:
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


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
