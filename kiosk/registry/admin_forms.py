"""Forms of the registry's administration pages (admin_views.py), CSRF-protected by Flask-WTF.

Each form carries Flask-WTF's token tied to the session: a form sent without it, or
with one from another session or older than WTF_CSRF_TIME_LIMIT, does not validate.
The field labels and messages are the node's staff sign-in's, so both read the same
and share their translations.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, PasswordField, SelectField, StringField

from ..validators import Required, clean_line


class LoginForm(FlaskForm):
    username = StringField(
        _l("User name"), filters=[clean_line], validators=[Required(_l("Enter your user name"))]
    )
    password = PasswordField(_l("Password"), validators=[Required(_l("Enter your password"))])


class ConfirmForm(FlaskForm):
    """Only a CSRF token: for one-button actions (Sign out)."""


class NodesFilter(Form):
    """Which nodes the nodes page lists: a GET form (no token: it changes nothing).

    The region's choices are the regions in the page's language, set by the view
    (admin_nodes.nodes_filter); a region the list does not know reads as every region.
    """

    attention = BooleanField(_l("Only nodes that need attention"))
    region = SelectField(_l("Region"), validate_choice=False)
