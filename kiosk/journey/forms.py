"""One WTForms class per step of the journey.

All fields are text fields cleaned by filters, so what the person typed comes
back exactly on an error page, and every message is ours and translated.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    MultipleFileField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .. import competition, return_codes
from ..competition import Limit
from ..identifiers import normalise_reference
from ..validators import (
    BIN,
    IIN,
    Choice,
    Email,
    HasLetter,
    MaxLength,
    Month,
    Optional,
    Phone,
    Required,
    WholeNumber,
    Year,
    clean_count,
    clean_digits,
    clean_line,
    clean_text,
    normalised,
    unique,
)


def _lazy_choices(options: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in options.items()]


class ApplicantTypeForm(FlaskForm):
    applicant_type = RadioField(
        _l("Who is applying?"),
        choices=_lazy_choices(competition.APPLICANT_TYPES),
        validate_choice=False,
        validators=[
            Required(_l("Select who is applying")),
            Choice(_l("Select who is applying")),
        ],
    )


class OrganisationForm(FlaskForm):
    organisation_name = StringField(
        _l("Full name of the organisation"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter the name of the organisation")),
            MaxLength(Limit.ORGANISATION),
            HasLetter(_l("The name of the organisation must contain letters")),
        ],
    )
    bin = StringField(
        _l("BIN (business identification number)"),
        filters=[clean_digits],
        validators=[Required(_l("Enter the BIN of the organisation")), BIN()],
    )


class PersonForm(FlaskForm):
    full_name = StringField(
        _l("Full name"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter your full name")),
            MaxLength(Limit.NAME),
            HasLetter(_l("Full name must contain letters")),
        ],
    )
    iin = StringField(
        _l("IIN (individual identification number)"),
        filters=[clean_digits],
        validators=[Required(_l("Enter your IIN")), IIN()],
    )


class RegionForm(FlaskForm):
    region = RadioField(
        _l("In which region does the project run?"),
        validate_choice=False,
        validators=[
            Required(_l("Select the region where the project runs")),
            Choice(_l("Select the region where the project runs")),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.region.choices = [
            SelectChoice(r.code, r.label) for r in competition.regions().values()
        ]


class ContactForm(FlaskForm):
    contact_name = StringField(
        _l("Contact person's full name"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter the contact person's full name")),
            MaxLength(Limit.NAME),
            HasLetter(_l("Contact person's name must contain letters")),
        ],
    )
    phone = StringField(
        _l("Phone number"),
        filters=[clean_line],
        validators=[Required(_l("Enter a phone number")), Phone()],
    )
    email = StringField(
        _l("E-mail address"),
        filters=[clean_line],
        validators=[Optional(), Email()],
    )

    def __init__(self, *args, email_required: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email_required = email_required

    def validate(self, extra_validators=None) -> bool:
        """E-mail is optional for individuals only; organisations must give one."""
        if self.email_required:
            self.email.validators = [Required(_l("Enter an e-mail address")), Email()]
        return super().validate(extra_validators)


class TitleForm(FlaskForm):
    project_title = StringField(
        _l("What is the project called?"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter the project title")),
            MaxLength(Limit.TITLE),
            HasLetter(_l("Project title must contain letters")),
        ],
    )


class TargetGroupsForm(FlaskForm):
    target_groups = SelectMultipleField(
        _l("Who does the project help?"),
        choices=_lazy_choices(competition.TARGET_GROUPS),
        filters=[unique],
        validate_choice=False,
        validators=[
            Required(_l("Select at least one group the project helps")),
            Choice(_l("Select at least one group the project helps")),
        ],
    )
    other_group = StringField(
        _l("Which other group?"),
        filters=[clean_line],
        validators=[MaxLength(Limit.OTHER_GROUP)],
    )

    def validate_other_group(self, field: StringField) -> None:
        """Ask for the other group only when "other" is ticked; drop it otherwise."""
        if competition.OTHER_GROUP in (self.target_groups.data or []):
            if not field.data:
                raise ValidationError(_l("Say which other group the project helps"))
        else:
            field.data = ""


def _long_text(label, message, limit: int) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[clean_text],
        validators=[Required(message), MaxLength(limit)],
        render_kw={"data-limit": limit},
    )


class ProblemForm(FlaskForm):
    problem = _long_text(
        _l("What problem does the project solve?"),
        _l("Describe the problem the project solves"),
        Limit.LONG_TEXT,
    )


class ActivitiesForm(FlaskForm):
    activities = _long_text(
        _l("What does the project do?"),
        _l("Describe what the project does"),
        Limit.LONG_TEXT,
    )


class ResultsForm(FlaskForm):
    results = _long_text(
        _l("What has the project achieved?"),
        _l("Describe what the project has achieved"),
        Limit.RESULTS_TEXT,
    )


class SettlementForm(FlaskForm):
    settlement = StringField(
        _l("In which city, town or village does the project run?"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter the city, town or village")),
            MaxLength(Limit.SETTLEMENT),
            HasLetter(_l("The name of the place must contain letters")),
        ],
    )


class StartDateForm(FlaskForm):
    start_month = StringField(
        _l("Month"),
        filters=[clean_count],
        validators=[Required(_l("Enter the month the project started")), Month()],
    )
    start_year = StringField(
        _l("Year"),
        filters=[clean_count],
        validators=[Required(_l("Enter the year the project started")), Year(Limit.FIRST_YEAR)],
    )

    def validate(self, extra_validators=None) -> bool:
        """Both parts valid, and together not in the future.

        A date left empty is one problem, not two (GOV.UK's date input): one message, at
        the month, where the error summary links; the template marks both boxes.
        """
        if not super().validate(extra_validators):
            if not self.start_month.data and not self.start_year.data:
                self.start_month.errors[:] = [_l("Enter the month and year the project started")]
                self.start_year.errors[:] = []
            return False
        today = date.today()
        started = (int(normalised(self.start_year)), int(normalised(self.start_month)))
        if started > (today.year, today.month):
            self.start_month.errors.append(_l("The start date cannot be in the future"))
            return False
        return True


class PeopleForm(FlaskForm):
    helped_last_year = StringField(
        _l("People helped last year"),
        filters=[clean_count],
        validators=[
            Required(_l("Enter how many people the project helped last year")),
            WholeNumber(Limit.PEOPLE),
        ],
    )
    helped_total = StringField(
        _l("People helped in total since the project started"),
        filters=[clean_count],
        validators=[
            Required(_l("Enter how many people the project has helped in total")),
            WholeNumber(Limit.PEOPLE),
        ],
    )

    def validate(self, extra_validators=None) -> bool:
        """Each a whole number, and the total at least last year's figure."""
        if not super().validate(extra_validators):
            return False
        if int(normalised(self.helped_total)) < int(normalised(self.helped_last_year)):
            self.helped_total.errors.append(
                _l("The total cannot be smaller than the number helped last year")
            )
            return False
        return True


class FundingForm(FlaskForm):
    funding_source = RadioField(
        _l("How is the project funded?"),
        choices=_lazy_choices(competition.FUNDING_SOURCES),
        validate_choice=False,
        validators=[
            Required(_l("Select how the project is funded")),
            Choice(_l("Select how the project is funded")),
        ],
    )


class DeclarationForm(FlaskForm):
    consent = BooleanField(
        _l(
            "I agree to the processing of my personal data for this competition, "
            "and the information I have given is true"
        ),
        validators=[
            Required(
                _l(
                    "To send the application, tick the box to agree "
                    "to the processing of personal data"
                )
            )
        ],
    )


class StatusForm(FlaskForm):
    """Look up an application by reference: a GET form, with nothing secret to protect."""

    class Meta:
        csrf = False

    reference = StringField(
        _l("Reference number"),
        filters=[clean_line],
        validators=[
            Required(_l("Enter the reference number")),
            MaxLength(20),
        ],
    )

    def validate_reference(self, field: StringField) -> None:
        field.normalised = normalise_reference(field.data)
        if field.normalised is None:
            raise ValidationError(
                _l(
                    "Check the reference number: it has 9 characters "
                    "(letters and digits), like 7K3M-9QXT-W"
                )
            )


RETURN_CODE_PROBLEMS = {
    return_codes.Problem.EMPTY: _l("Enter your return code"),
    return_codes.Problem.SHAPE: _l(
        "Check the code: a return code starts with R and has 14 letters and digits"
    ),
    return_codes.Problem.CHECK: _l("Check the code: one character is wrong"),
}


class ResumeForm(FlaskForm):
    """The return code of a saved application, read as people type it (kiosk/return_codes.py).

    The filter drops what nobody means to type (NUL, bidi controls) so the field shows back
    only visible text; `read` then forgives spaces, dashes, lower case and O for 0.
    """

    code = StringField(_l("Return code"), filters=[clean_line])

    def validate_code(self, field: StringField) -> None:
        try:
            field.normalised = return_codes.read(field.data)
        except return_codes.NotACode as not_a_code:
            raise ValidationError(RETURN_CODE_PROBLEMS[not_a_code.problem]) from None


class EmailCodeForm(FlaskForm):
    """ "E-mail me the code": one address, checked as the contact page checks one."""

    email = StringField(
        _l("E-mail address"),
        filters=[clean_line],
        validators=[Required(_l("Enter your e-mail address")), Email()],
    )


class DocumentsForm(FlaskForm):
    """Supporting documents: files chosen for upload. Each is checked in the view
    (kiosk/documents/checks.py), which adds one message per refused file."""

    documents = MultipleFileField(_l("Upload a file"))
