"""Kiosk mode: a public touch screen that speaks three languages and forgets each applicant.

Switched on with KIOSK_MODE=on. The welcome screen asks for a language, then for
display and reading help, then the journey starts. "Start again" on every page,
an idle warning, and a server-side expiry make sure the next person in line never
sees the last one's answers.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField

from . import drafts
from .i18n import LANGUAGES
from .security import csrf
from .urls import safe_local_path

bp = Blueprint("kiosk", __name__)

# Nothing of the last person stays in this browser: no cache, no storage, no cookie.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


def enabled() -> bool:
    return bool(current_app.config["KIOSK_MODE"])


class HelpForm(FlaskForm):
    """The kiosk's second screen: what would make the screen easier to use."""

    high_contrast = BooleanField(_l("High contrast"))
    large_text = BooleanField(_l("Larger text"))
    read_aloud = BooleanField(_l("Read aloud"))


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: for actions confirmed with one button."""


def forget_applicant() -> None:
    """Delete the draft and everything the session holds about this person."""
    draft_id = session.get("draft")
    if draft_id:
        drafts.delete(draft_id)
    session.clear()


@bp.get("/kiosk")
def welcome():
    """Three large language buttons: the first thing a kiosk shows."""
    return render_template("kiosk/welcome.html", languages=LANGUAGES)


@bp.route("/kiosk/help", methods=["GET", "POST"])
def reading_help():
    form = HelpForm(
        data={
            "high_contrast": session.get("theme") == "high-contrast",
            "large_text": session.get("text_size") == "large",
            "read_aloud": session.get("read_aloud", False),
        }
    )
    if form.validate_on_submit():
        session["theme"] = "high-contrast" if form.high_contrast.data else "standard"
        session["text_size"] = "large" if form.large_text.data else "standard"
        session["read_aloud"] = bool(form.read_aloud.data)
        return redirect(url_for("journey.start"))
    return render_template("kiosk/help.html", form=form)


@bp.route("/start-again", methods=["GET", "POST"])
def start_again():
    """Ask first; on yes, delete the answers and go back to the first screen."""
    back = safe_local_path(request.args.get("back"), url_for("journey.start"))
    if request.method == "POST" and request.form.get("keep"):
        return redirect(back)  # "No, go back": always safe, whatever the form token
    form = ConfirmForm()
    if form.validate_on_submit():
        return _reset()
    return render_template("kiosk/start_again.html", form=form, back=back)


@bp.post("/kiosk/timeout")
@csrf.exempt
def timed_out():
    """The idle warning ran out: the same as "Start again", without asking.

    The view checks the form token itself, so that a page whose session is already gone
    (the saved page, which forgets the applicant as it is shown) still goes back to the
    first screen when nobody touches it, instead of to "This page has expired". Without
    a valid token nothing is deleted: a forged request only redirects.
    """
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("kiosk.welcome") if enabled() else url_for("journey.start"))
    return _reset()


@bp.post("/kiosk/finish")
@csrf.exempt
def finish():
    """The applicant is done (after the confirmation page): forget them.

    No form token is needed: forgetting is always safe, and a page left open past its
    token's life must still clear the kiosk for the next person.
    """
    return _reset()


def _reset():
    forget_applicant()
    response = redirect(url_for("kiosk.welcome") if enabled() else url_for("journey.start"))
    if enabled():
        response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


@bp.post("/kiosk/still-here")
def still_here():
    """ "I need more time": keep the draft alive on the server too."""
    if ConfirmForm().validate_on_submit() and session.get("draft"):
        drafts.touch(session["draft"])
    return ("", 204)


def kiosk_context() -> dict:
    config = current_app.config
    return {
        "kiosk_mode": bool(config["KIOSK_MODE"]),
        "kiosk_centre": config["KIOSK_CENTRE"],
        "idle_seconds": config["IDLE_SECONDS"],
        "grace_seconds": config["GRACE_SECONDS"],
        "read_aloud": bool(session.get("read_aloud")),
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(kiosk_context)
    # Globals reach imported macros too: a kiosk's fields never offer a stranger's autofill.
    app.jinja_env.globals["autocomplete_token"] = autocomplete_token
    app.jinja_env.globals["confirm_form"] = ConfirmForm


def autocomplete_token(token: str | None) -> str | None:
    """The field's autocomplete token on the web; "off" on a shared kiosk."""
    return "off" if enabled() else token
