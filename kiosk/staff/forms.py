"""Forms of the staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice

from ..competition import CONSENT_METHODS
from ..journey.forms import DeclarationForm
from ..validators import Choice, HasLetter, MaxLength, Required, clean_line
from . import accounts


class LoginForm(FlaskForm):
    username = StringField(
        _l("User name"), filters=[clean_line], validators=[Required(_l("Enter your user name"))]
    )
    password = PasswordField(_l("Password"), validators=[Required(_l("Enter your password"))])


class AssistedDeclarationForm(DeclarationForm):
    """The declaration when a social worker fills the application in with the applicant."""

    consent_method = RadioField(
        _l("How did the applicant agree?"),
        choices=[SelectChoice(value, label) for value, label in CONSENT_METHODS.items()],
        validate_choice=False,
        validators=[
            Required(_l("Select how the applicant agreed")),
            Choice(_l("Select how the applicant agreed")),
        ],
    )
    worker_confirms = BooleanField(
        _l("I confirm that the applicant agreed in this way, and I filled this in with them"),
        validators=[Required(_l("Tick the box to confirm how the applicant agreed"))],
    )


class StaffForm(FlaskForm):
    """An administrator adds a staff account, within the limits accounts.add enforces."""

    username = StringField(
        _l("User name"),
        filters=[clean_line],
        validators=[Required(_l("Enter a user name")), MaxLength(accounts.USERNAME_MAX)],
    )
    name = StringField(
        _l("Full name"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter the full name")),
            MaxLength(accounts.NAME_MAX),
            HasLetter(_l("Full name must contain letters")),
        ],
    )
    role = RadioField(
        _l("Role"),
        choices=[
            SelectChoice(accounts.SOCIAL_WORKER, _l("Social worker")),
            SelectChoice(accounts.ADMIN, _l("Administrator")),
        ],
        validate_choice=False,
        validators=[Required(_l("Select a role")), Choice(_l("Select a role"))],
    )
    centre = StringField(
        _l("Social service centre"),
        filters=[clean_line],
        validators=[MaxLength(accounts.CENTRE_MAX)],
    )


class ConfirmForm(FlaskForm):
    """Only a CSRF token: for one-button actions."""
