"""The journey's pages: start, one generic view for every question, check, declare, confirm."""

from __future__ import annotations

import logging
import sqlite3
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict

from .. import audit, claims, competition, drafts, kiosk_mode, limits, qr, saved, submissions
from ..competition import Window
from ..db import get_db
from ..documents import shown as documents_shown
from ..documents import store as documents_store
from ..documents import uploads
from ..i18n import LANGUAGES, current_language
from ..staff import auth as staff_auth
from ..staff.forms import AssistedDeclarationForm
from ..validators import normalised
from . import steps
from .forms import DeclarationForm, StatusForm

bp = Blueprint("journey", __name__)
log = logging.getLogger(__name__)

NOT_SAVED = _l(
    "Your answers could not be saved just now. Nothing you typed on this page is lost: "
    "wait a minute, then press the button again."
)
NOT_SENDABLE = _l(
    "This application cannot be sent as it is, and nothing has been sent yet. "
    "Check your answers, or ask a member of staff for help."
)
EXPIRED = _l(
    "Your earlier answers were deleted because the application was not used for a long time. "
    "This protects your personal data. Please answer the questions again."
)
OPENED_ELSEWHERE = _l(
    "This application was opened with its return code on another device, so it was closed "
    "here. To carry on here, enter the return code again."
)

SENT_ELSEWHERE = _l(
    "This application was sent from another device with its return code, so it was closed "
    "here. It cannot be sent again."
)

OPEN_ENDPOINTS = {"journey.start", "journey.confirmation", "journey.receipt", "journey.status"}


@bp.before_request
def only_while_open():
    """Outside the competition window no step accepts answers."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    return closed_response()


def closed_response():
    """None while the window is open; else the closed page for a POST, the start for a GET.

    Shared with the save and resume pages (kiosk/journey/saving.py).
    """
    if competition.window_state() == Window.OPEN:
        return None
    if request.method == "POST":
        return render_template("journey/closed.html", **_window()), 403
    return redirect(url_for("journey.start"))


def _window() -> dict:
    return {
        "state": competition.window_state(),
        "opens": current_app.config["OPENS"],
        "closes": current_app.config["CLOSES"],
    }


def current_draft() -> drafts.Draft | None:
    """This person's draft; if it ended while they were away, say so once, and why.

    It ended either because its return code opened it on another device (one code has one
    live draft, kiosk/saved.py; on another node, kiosk/claims.py asks the registry) or
    because it was not used for too long.
    """
    draft_id = session.get("draft")
    draft = drafts.load(draft_id)
    if draft is not None and claims.ended_elsewhere(draft):  # resumed on another node
        draft = None
    if draft_id and draft is None:
        session.pop("draft", None)
        why = saved.why_ended(draft_id)
        if why is not None:
            flash(SENT_ELSEWHERE if why == saved.SENT else OPENED_ELSEWHERE, "notice")
            g.draft_expired = True
        elif submissions.get(session.get("submission")) is None:  # not sent: it ran out
            flash(EXPIRED, "notice")
            g.draft_expired = True
    return draft


def draft_or_new() -> drafts.Draft:
    """This person's draft, or a new one (counted against the address's limit)."""
    draft = current_draft()
    if draft is None:
        limits.count_new_draft()
        draft = drafts.create()
        session["draft"] = draft.id
        session["submission"] = draft.submission_id
    return draft


@bp.get("/")
def start():
    return render_template("journey/start.html", first=steps.STEPS[0], **_window())


@bp.route("/apply/<slug>", methods=["GET", "POST"])
def question(slug: str):
    step = steps.BY_SLUG.get(slug) or abort(404)
    try:
        return _question(step)
    except sqlite3.OperationalError as error:
        if request.method != "POST":
            raise
        form = step.form(**step.options({}))
        not_saved(form, error)
        back = url_for("journey.start")
        return render_template(step.template, form=form, step=step, back=back, changing=False)


def _question(step: steps.Step):
    draft = current_draft()
    answers = draft.answers if draft else {}
    if not step.shown(answers):
        return redirect(url_for("journey.question", slug=steps.STEPS[0].slug))
    changing = request.args.get("change") == "1"
    if request.method == "POST":
        form = step.form(**step.options(answers))
    elif draft and draft.pending.get("slug") == step.slug:
        form = _pending_form(step, draft)
    else:
        form = step.make_form(answers)
    if form.validate_on_submit():
        draft = draft or draft_or_new()
        draft.answers.update({name: normalised(form[name]) for name in step.fields()})
        drafts.save(draft)
        if g.get("draft_expired"):  # start from the first question they now have to answer
            return redirect(url_for("journey.question", slug=steps.STEPS[0].slug))
        return redirect(_next_url(step, draft, changing))
    previous = steps.previous(step, answers)
    if changing:
        back = url_for("journey.check")
    elif previous:
        back = url_for("journey.question", slug=previous.slug)
    else:
        back = url_for("journey.start")
    return render_template(step.template, form=form, step=step, back=back, changing=changing)


def _pending_form(step: steps.Step, draft: drafts.Draft) -> FlaskForm:
    """The page as it was when it was saved unfinished: what was typed, and its errors.

    Shown once, on the first visit after the resume; from then on the page is filled
    from the answers as usual (the pending values are forgotten).
    """
    typed = draft.pending.get("form")
    formdata = MultiDict(
        [
            (name, value)
            for name, values in (typed.items() if isinstance(typed, dict) else ())
            for value in (values if isinstance(values, list) else ())
            if isinstance(value, str)  # a blob from elsewhere is opened, not trusted
        ]
    )
    formdata["csrf_token"] = generate_csrf()
    form = step.form(formdata=formdata, **step.options(draft.answers))
    form.validate()
    draft.pending = {}
    drafts.save(draft)
    return form


def not_saved(form, error: sqlite3.OperationalError) -> None:
    """The disk is full, or the database stayed locked past the busy timeout.

    Nothing was written. The same page shows again with what the person typed (read
    from the request: the database may not even open) and a message to try again;
    the log gets the kind of failure, never the answers.
    """
    log.error("Could not save answers: %s", type(error).__name__)
    form.form_errors.append(NOT_SAVED)


def _next_url(step: steps.Step, draft: drafts.Draft, changing: bool) -> str:
    """After a change go back to the check page, unless the change opened a new question.

    After the last question comes the documents page where it is offered, then the check page.
    """
    answers = draft.answers
    if changing:
        missing = steps.first_incomplete(answers)
        if missing is None:
            return url_for("journey.check")
        return url_for("journey.question", slug=missing.slug, change="1")
    following = steps.following(step, answers)
    if following is None and uploads.offered(draft.worker_id):
        return url_for("documents.page")
    if following is None:
        return url_for("journey.check")
    return url_for("journey.question", slug=following.slug)


@bp.get("/apply/check")
def check():
    draft = current_draft()
    if draft is None:
        return redirect(url_for("journey.start"))
    missing = steps.first_incomplete(draft.answers)
    if missing:
        return redirect(url_for("journey.question", slug=missing.slug))
    last = steps.visible(draft.answers)[-1]
    rows = steps.summary(draft.answers)
    back = url_for("journey.question", slug=last.slug)
    if uploads.offered(draft.worker_id):
        held = documents_store.held(get_db(), draft.submission_id)
        rows.append(documents_shown.summary_row(draft.answers, held))
        back = url_for("documents.page")
    return render_template("journey/check.html", rows=rows, back=back)


@bp.route("/apply/declaration", methods=["GET", "POST"])
def declaration():
    try:
        return _declaration()
    except sqlite3.OperationalError as error:
        if request.method != "POST":
            raise
        form = AssistedDeclarationForm() if "consent_method" in request.form else DeclarationForm()
        not_saved(form, error)
        back = url_for("journey.check")
        return render_template("journey/declaration.html", form=form, back=back)


def _declaration():
    draft = current_draft()
    if draft is None:
        if request.method == "POST" and submissions.get(session.get("submission")):
            return redirect(url_for("journey.confirmation"), 303)  # sent already
        return redirect(url_for("journey.start"))
    if steps.first_incomplete(draft.answers):
        return redirect(url_for("journey.check"))
    worker = None
    if draft.worker_id is not None:  # an assisted application: only its worker may send it
        worker = staff_auth.current()
        if worker is None or worker.id != draft.worker_id:
            return redirect(url_for("staff.login", next=request.path))
    form = AssistedDeclarationForm() if worker else DeclarationForm()
    if form.validate_on_submit():
        assisted = None
        if worker:
            assisted = submissions.Assisted(worker.id, worker.centre, form.consent_method.data)
        try:
            submitted = submissions.submit(draft.id, current_language(), assisted)
        except submissions.NotSendable:
            form.form_errors.append(NOT_SENDABLE)
        else:
            session.pop("draft", None)
            _with_applicant_until()
            if submitted:
                record = submissions.get(submitted)
                audit.record(
                    "submit", staff_id=worker.id if worker else None, reference=record.reference
                )
            return redirect(url_for("journey.confirmation"), 303)
    return render_template("journey/declaration.html", form=form, back=url_for("journey.check"))


def _clock() -> float:
    return time.time()


def _with_applicant_until() -> None:
    """On a kiosk, the confirmation and receipt are for the person standing there now."""
    session["with_applicant_until"] = _clock() + drafts.lifetime().total_seconds()


def _applicant_has_left() -> bool:
    """A kiosk shows a confirmation only while its applicant is there (idle time + grace).

    The idle warning sends the screen back to the start; this is the same rule on the
    server, for a browser without script or a warning nobody answered.
    """
    if not kiosk_mode.enabled():
        return False
    if _clock() > session.get("with_applicant_until", 0):
        return True
    _with_applicant_until()
    return False


def _submission_or_404() -> submissions.Submission:
    if _applicant_has_left():
        kiosk_mode.forget_applicant()
        abort(404)
    return submissions.get(session.get("submission")) or abort(404)


def _in_language_of(submission: submissions.Submission, template: str, **context) -> str:
    """Render in the language the application was made in, unless ?lang= asks otherwise."""
    language = request.args.get("lang") if request.args.get("lang") in LANGUAGES else None
    with force_locale(language or submission.locale):
        region = competition.regions().get(submission.region)
        label = region.label if region else ""
        return render_template(template, submission=submission, region=label, **context)


@bp.get("/apply/confirmation")
def confirmation():
    submission = _submission_or_404()
    state, received = submissions.delivery(submission)
    return _in_language_of(submission, "journey/confirmation.html", state=state, received=received)


@bp.get("/status")
def status():
    """Where an application is, by its reference number: waiting, or received on a date."""
    form = StatusForm(request.args)
    if "reference" not in request.args or not form.validate():
        return render_template("journey/status.html", form=form)
    submission = submissions.by_reference(form.reference.normalised)
    if submission is None:
        form.reference.errors.append(
            _l("No application with this reference number was sent from this kiosk or website")
        )
        return render_template("journey/status.html", form=form), 404
    state, received = submissions.delivery(submission)
    return render_template(
        "journey/status.html", form=form, submission=submission, state=state, received=received
    )


@bp.get("/apply/receipt")
def receipt():
    """The printable receipt, with the status page's address as text and QR code.

    The address comes from config, never from the request's Host header: a forged
    Host would otherwise put someone else's site on a printed receipt.
    """
    submission = _submission_or_404()
    status_url = public_url(url_for("journey.status", reference=submission.reference))
    return _in_language_of(submission, "journey/receipt.html", status_url=status_url, qr=qr.svg)


def public_url(path: str) -> str:
    """An address on this site to print or send: KIOSK_PUBLIC_URL, never the request's Host.

    Without KIOSK_PUBLIC_URL (a kiosk on its own machine) the node's own host and port.
    """
    config = current_app.config
    base = config["PUBLIC_URL"] or f"http://{config['HOST']}:{config['PORT']}"
    return base + path
