"""The journey as an ordered list of steps.

Which steps a person sees depends on their earlier answers (an organisation
gives its BIN, an individual their IIN). The Back links, the order after
"Continue", the check answers page and the final completeness check are all
read from this one list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from .. import competition, phones
from ..i18n import format_month
from ..spoken import digit_groups, seen_and_heard
from . import forms


def _always(_answers: dict) -> bool:
    return True


def _is_individual(answers: dict) -> bool:
    return answers.get("applicant_type") == competition.INDIVIDUAL


def _is_organisation(answers: dict) -> bool:
    return answers.get("applicant_type") not in (None, competition.INDIVIDUAL)


def _contact_options(answers: dict) -> dict:
    return {"email_required": not _is_individual(answers)}


@dataclass(frozen=True)
class Step:
    """One page of questions."""

    slug: str
    form: type[FlaskForm]
    title: str
    shown: Callable[[dict], bool] = _always
    options: Callable[[dict], dict] = field(default=lambda answers: {})

    @property
    def template(self) -> str:
        return f"journey/{self.slug}.html"

    def make_form(self, answers: dict, **kwargs) -> FlaskForm:
        """The step's form; filled from the draft unless a POST brings new values."""
        data = {name: answers[name] for name in self.fields() if name in answers}
        return self.form(data=data, **self.options(answers), **kwargs)

    def fields(self) -> list[str]:
        return [name for name in self.form.__dict__ if _is_field(self.form, name)]

    def is_complete(self, answers: dict) -> bool:
        """Whether the stored answers for this step still pass its checks."""
        return self.checked_form(answers).validate()

    def checked_form(self, answers: dict) -> FlaskForm:
        """The step's form posted with these answers, as a browser would send them."""
        formdata = MultiDict()
        for name in self.fields():
            value = answers.get(name)
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    formdata.add(name, item)
        return self.form(formdata=formdata, meta={"csrf": False}, **self.options(answers))


def _is_field(form_class: type, name: str) -> bool:
    return hasattr(getattr(form_class, name, None), "field_class") and name != "csrf_token"


STEPS: list[Step] = [
    Step("applicant-type", forms.ApplicantTypeForm, _l("Who is applying?")),
    Step(
        "organisation",
        forms.OrganisationForm,
        _l("About the organisation"),
        shown=_is_organisation,
    ),
    Step("person", forms.PersonForm, _l("About you"), shown=_is_individual),
    Step("region", forms.RegionForm, _l("In which region does the project run?")),
    Step("contact", forms.ContactForm, _l("Contact details"), options=_contact_options),
    Step("title", forms.TitleForm, _l("What is the project called?")),
    Step("target-groups", forms.TargetGroupsForm, _l("Who does the project help?")),
    Step("problem", forms.ProblemForm, _l("What problem does the project solve?")),
    Step("activities", forms.ActivitiesForm, _l("What does the project do?")),
    Step("results", forms.ResultsForm, _l("What has the project achieved?")),
    Step(
        "settlement",
        forms.SettlementForm,
        _l("In which city, town or village does the project run?"),
    ),
    Step("start-date", forms.StartDateForm, _l("When did the project start?")),
    Step("people", forms.PeopleForm, _l("How many people has the project helped?")),
    Step("funding", forms.FundingForm, _l("How is the project funded?")),
]
BY_SLUG = {step.slug: step for step in STEPS}


def visible(answers: dict) -> list[Step]:
    """The steps this applicant sees, in order."""
    return [step for step in STEPS if step.shown(answers)]


def shown_answers(answers: dict) -> dict:
    """Only the answers to questions this applicant was asked: what the payload is built from."""
    shown = {name for step in visible(answers) for name in step.fields()}
    return {name: value for name, value in answers.items() if name in shown}


def previous(step: Step, answers: dict) -> Step | None:
    steps = visible(answers)
    index = steps.index(step) if step in steps else 0
    return steps[index - 1] if index > 0 else None


def following(step: Step, answers: dict) -> Step | None:
    steps = visible(answers)
    index = steps.index(step) if step in steps else -1
    return steps[index + 1] if index + 1 < len(steps) else None


def first_incomplete(answers: dict) -> Step | None:
    """The first visible step whose answers are missing or no longer valid."""
    return next((step for step in visible(answers) if not step.is_complete(answers)), None)


# The check answers page ------------------------------------------------------


def _choice_label(options: dict, value: str) -> str:
    return str(options.get(value, value))


def summary(answers: dict) -> list[tuple[Step, str, list[str]]]:
    """Rows for the check answers page: (step, question, lines of the answer).

    An optional question left empty says so ("Not given"), so a screen reader has
    something to read between the question and its "Change" link.
    """
    rows: list[tuple[Step, str, list[str]]] = []
    for step in visible(answers):
        form = step.make_form(answers, meta={"csrf": False})
        if step.slug == "start-date":
            rows.append((step, str(step.title), [_start_date(answers)]))
            continue
        for name in step.fields():
            if name == "other_group":
                continue
            lines = _display(form, name, answers)
            if not any(lines):
                lines = [gettext("Not given")]
            rows.append((step, str(form[name].label.text), lines))
    return rows


def _display(form: FlaskForm, name: str, answers: dict) -> list[str]:
    value = answers.get(name)
    if name == "target_groups":
        lines = [_choice_label(competition.TARGET_GROUPS, v) for v in value or []]
        if answers.get("other_group") and competition.OTHER_GROUP in (value or []):
            lines[-1] = f"{lines[-1]}: {answers['other_group']}"
        return lines
    if name == "phone" and value:
        return [phones.grouped(value)]
    if name in ("iin", "bin") and value:
        # Twelve digits, as on the document, but heard one by one: as one number a voice
        # reads "880215300124" as eight hundred and eighty billion and so on.
        return [seen_and_heard(value, digit_groups(value, (6, 6)))]
    if name == "region":
        region = competition.regions().get(value)
        return [region.label if region else ""]
    choices = getattr(form[name], "choices", None)
    if choices:
        return [_choice_label({c.value: c.label for c in choices}, value)]
    return str(value or "").split("\n")


def _start_date(answers: dict) -> str:
    try:
        month = date(int(answers["start_year"]), int(answers["start_month"]), 1)
    except (KeyError, ValueError):
        return ""
    return format_month(month)
