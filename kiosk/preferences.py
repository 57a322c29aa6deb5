"""Display settings a person picks for themselves: contrast and text size.

They are kept in the session and applied as classes on <html>, so they work
without JavaScript and follow the person through the whole journey.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from .urls import safe_local_path
from .validators import Choice, Required

THEMES = {"standard": _l("Normal"), "high-contrast": _l("High contrast")}
TEXT_SIZES = {"standard": _l("Normal"), "large": _l("Larger text")}

bp = Blueprint("preferences", __name__)


class PreferencesForm(FlaskForm):
    theme = RadioField(
        _l("Contrast"),
        choices=[SelectChoice(value, label) for value, label in THEMES.items()],
        validate_choice=False,
        validators=[Required(_l("Select a contrast")), Choice(_l("Select a contrast"))],
    )
    text_size = RadioField(
        _l("Text size"),
        choices=[SelectChoice(value, label) for value, label in TEXT_SIZES.items()],
        validate_choice=False,
        validators=[Required(_l("Select a text size")), Choice(_l("Select a text size"))],
    )


def current() -> dict[str, str]:
    """The person's settings, with defaults for anything not chosen."""
    return {
        "theme": session.get("theme", "standard"),
        "text_size": session.get("text_size", "standard"),
    }


def html_classes() -> str:
    """Classes for <html> that switch the theme and text size in CSS."""
    chosen = current()
    classes = []
    if chosen["theme"] == "high-contrast":
        classes.append("theme-high-contrast")
    if chosen["text_size"] == "large":
        classes.append("text-large")
    return " ".join(classes)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never send people to another site after saving."""
    return safe_local_path(target, url_for("journey.start"))


@bp.route("/accessibility", methods=["GET", "POST"])
def settings():
    back = safe_next(request.args.get("next"))
    form = PreferencesForm(data=current())
    if form.validate_on_submit():
        session["theme"] = form.theme.data
        session["text_size"] = form.text_size.data
        return redirect(back)
    return render_template("preferences/settings.html", form=form, back=back)


@bp.get("/accessibility-statement")
def statement():
    return render_template("preferences/statement.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(preference_classes=html_classes, preferences=current)
