"""Save and come back later; continue a saved application with its return code.

    any question page, the check page, the declaration ─▶ "Save and come back later"
        ─▶ POST /apply/<page>/save (CSRF): the page's answers into the draft when they
           validate, else kept as they were typed (draft.pending) ─▶ saved.save ─▶ code
        ─▶ web: 303 to /apply/saved (code and date from the session)
           kiosk: the saved page in the response itself, the applicant forgotten at once
    /resume ─▶ POST the code ─▶ return_codes.read (empty / shape / check character)
        ─▶ throttled? 429 ─▶ here, else the registry (deposits.fetch) ─▶ open with the code
        ─▶ an assisted application only for its worker (or an admin of the centre)
        ─▶ saved.resume: a new live draft ─▶ the unfinished page, else the first question
           left, else the check page; in the language it was saved in

The crypto and storage are kiosk/saved.py's and kiosk/return_codes.py's; this module
only holds the pages.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from .. import audit, claims, deposits, drafts, kiosk_mode, limits, mail, return_codes, saved
from ..i18n import LANGUAGES, current_language
from ..staff import accounts
from ..staff import auth as staff_auth
from ..validators import normalised
from . import documents, steps, views
from .forms import EmailCodeForm, ResumeForm

bp = Blueprint("saving", __name__)

# The pages with a "Save and come back later" button that are not questions.
CHECK, DECLARATION, DOCUMENTS = "check", "declaration", "documents"

UNKNOWN = _l(
    "No application is saved with this code. Check that you typed it as it is written, "
    "or start a new application."
)
EXPIRED = _l(
    "The application saved with this code is no longer kept: its date has passed, and "
    "saved answers are deleted then to protect personal data. Please start a new application."
)
SENT = _l(
    "The application saved with this code has been sent, or deleted. It cannot be opened again."
)
UNREACHABLE = _l(
    "We cannot reach the other kiosks and websites just now. "
    "Try again later, or where you saved it."
)
NOT_YOURS = _l(
    "This application was started with a social worker, and only they can continue it. "
    "Ask them to sign in to the staff pages, then enter the code again."
)
NOT_SENT = _l(
    "The e-mail could not be sent just now. Write the code down or print this page, "
    "and try again later."
)


@bp.before_request
def only_while_open():
    """Saving and resuming take answers: only while applications are open.

    The saved page itself (and e-mailing its code) stays, so nobody loses a code shown
    to them a minute before the close.
    """
    if request.endpoint in ("saving.saved", "saving.email"):
        return None
    return views.closed_response()


# Saving --------------------------------------------------------------------------------


@bp.route("/apply/<page>/save", methods=["GET", "POST"])
def save(page: str):
    """Put the application away under a return code, with what is on this page too."""
    step = steps.BY_SLUG.get(page)
    if step is None and page not in (CHECK, DECLARATION, DOCUMENTS):
        abort(404)
    if request.method == "GET":  # e.g. the language switch of a kiosk's saved page
        return redirect(url_for("saving.saved"))
    try:
        return _save(step, page)
    except sqlite3.OperationalError as error:
        if step is None:
            raise
        return _page_not_saved(step, error)


def _save(step: steps.Step | None, page: str):
    draft = views.current_draft()
    if draft is None:
        if step is None:  # the check page or the declaration, with nothing left to save
            return redirect(url_for("journey.start"))
        draft = views.draft_or_new()
    if page == DOCUMENTS:  # a file chosen and not uploaded yet is kept too, or said why not
        refused = documents.take_chosen(draft)
        if refused:
            return documents.page_with(draft, refused)
    pending = _take_page(step, draft) if step else {}
    language = current_language()
    code, until = saved.save(draft, language, pending)
    session.pop("draft", None)
    session.pop("submission", None)
    worker = staff_auth.current()
    audit.record("save", staff_id=worker.id if worker and draft.worker_id else None)
    if kiosk_mode.enabled():
        return _saved_on_kiosk(code, until)
    session["saved_code"], session["saved_until"] = code, until.isoformat()
    return redirect(url_for("saving.saved"), 303)


def _take_page(step: steps.Step, draft: drafts.Draft) -> dict:
    """What this page holds: into the answers when it validates, else kept as typed.

    A page left empty adds nothing. A page with mistakes comes back, on resume, with what
    was typed and its messages; only its own fields are kept, never the form token.
    """
    if not step.shown(draft.answers):
        return {}
    form = step.form(**step.options(draft.answers))
    if form.validate():
        draft.answers.update({name: normalised(form[name]) for name in step.fields()})
        return {}
    typed = {name: request.form.getlist(name) for name in step.fields()}
    if not any(value.strip() for values in typed.values() for value in values):
        return {}
    return {"slug": step.slug, "form": typed}


def _saved_on_kiosk(code: str, until: datetime) -> Response:
    """The code on the screen and its slip for the printer, and the applicant forgotten.

    The page is rendered first, with the person's language, contrast and read aloud, then
    the session is cleared and the browser told to drop everything: nothing of this person,
    not even the code, stays in the kiosk after the page.
    """
    response = make_response(render_template("journey/saved.html", code=code, until=until))
    kiosk_mode.forget_applicant()
    response.headers["Clear-Site-Data"] = kiosk_mode.CLEAR_SITE_DATA
    return response


def _page_not_saved(step: steps.Step, error: sqlite3.OperationalError):
    """The database would not take the save: the same page again, as typed, to try again."""
    form = step.form(**step.options({}))
    views.not_saved(form, error)
    back = url_for("journey.start")
    return render_template(step.template, form=form, step=step, back=back, changing=False)


@bp.get("/apply/saved", endpoint="saved")
def saved_page():
    """The code and its date, after a save on the web (kept in this browser's session)."""
    shown = _saved_in_session()
    if shown is None:
        return redirect(url_for("journey.start"))
    code, until = shown
    return _render_saved(code, until, EmailCodeForm() if _email_offered() else None)


def _saved_in_session() -> tuple[str, datetime] | None:
    code, until = session.get("saved_code"), session.get("saved_until")
    if not code or not until:
        return None
    return code, datetime.fromisoformat(until)


def _render_saved(code: str, until: datetime, form: EmailCodeForm | None):
    context = {"form": form} if form is not None else {}
    return render_template("journey/saved.html", code=code, until=until, **context)


def _email_offered() -> bool:
    """ "E-mail me the code" only on the web, and only with a mail server to send through."""
    return mail.enabled()


@bp.post("/apply/saved/email")
def email():
    """Send the code shown on the saved page to the address given; say so, or why not."""
    shown = _saved_in_session()
    if not _email_offered():
        abort(404)
    if shown is None:
        return redirect(url_for("journey.start"))
    code, until = shown
    form = EmailCodeForm()
    if form.validate_on_submit():
        address = normalised(form.email)
        if _send(address, code, until):
            flash(gettext("We sent the code to %(address)s.", address=address), "notice")
            return redirect(url_for("saving.saved"), 303)
        form.form_errors.append(NOT_SENT)
    return _render_saved(code, until, form)


def _send(address: str, code: str, until: datetime) -> bool:
    """Hand the message to kiosk/mail.py; False when the mail server did not take it."""
    link = views.public_url(url_for("saving.resume"))
    try:
        mail.send_code(address, code, until, link, current_language())
    except (mail.NotSent, ValueError):
        return False
    return True


# Resuming ------------------------------------------------------------------------------


@bp.route("/resume", methods=["GET", "POST"])
def resume():
    """One field for the return code; on success, the application as it was left."""
    form = ResumeForm()
    if not form.validate_on_submit():
        return _resume_page(form)
    wait = limits.resume_wait()
    if wait:  # used up its failures: no code is tried, not even the right one
        return render_template("errors/429.html"), 429, {"Retry-After": str(wait)}
    code = form.code.normalised
    try:
        content, blob, problem = _open(code)
    except deposits.Unreachable:
        return _resume_page(form, UNREACHABLE)
    if problem is not None:
        limits.count_failed_resume()
        return _resume_page(form, problem)
    if not _may_resume(content):
        return _resume_page(form, NOT_YOURS)
    draft, content = saved.resume(code, blob, opened=content)
    claims.after_resume(draft)  # best effort: ends this code's draft on other nodes
    _carry_on_in_session(draft, content)
    worker = staff_auth.current() if content.worker_id is not None else None
    audit.record("resume", staff_id=worker.id if worker else None)
    return redirect(_where_to(draft), 303)


def _resume_page(form: ResumeForm, problem=None):
    if problem is not None:
        form.code.errors = [*form.code.errors, problem]
    return render_template("journey/resume.html", form=form, back=url_for("journey.start"))


def _open(code: str) -> tuple[saved.Saved | None, dict | None, str | None]:
    """(content, blob, None) for a code that opens; (None, None, why not) otherwise.

    Every failure costs one run of the KDF, found or not (saved.open_nothing), so the
    time an answer takes does not tell which codes exist. Raises deposits.Unreachable.
    """
    blob, problem = _look_up(code)
    if blob is None:
        saved.open_nothing(code)
        return None, None, problem
    try:
        return saved.open_blob(code, blob), blob, None
    except saved.WrongCode:
        return None, None, UNKNOWN


def _look_up(code: str) -> tuple[dict | None, str | None]:
    """(the blob saved under this code, here or at the registry, None), or (None, why not).

    The registry's copy is the newest when this node has nothing for it still to send:
    the code may have been resumed and saved again on another node since. A copy here
    is never dropped on the registry's word (a registry that is wrong must not lose an
    application); it is used whenever the registry has none or cannot be asked. A copy
    here past its date is "too late" only once the registry has no newer one either: the
    code may have been saved again elsewhere, later, with a later date. One answer
    outweighs the copy here: the registry's "deleted", since the application was sent
    from another node and opening the copy here would send it a second time.
    """
    lookup = return_codes.lookup_id(code)
    local = saved.find(code)
    if local is not None and deposits.pending(lookup):
        return local, None  # saved here and not yet deposited: this copy is the newest
    ran_out_here = local is None and saved.expired_here(code)
    try:
        remote = deposits.fetch(lookup, quick=local is not None)
    except deposits.Deleted:
        return None, SENT
    except deposits.Expired:  # the registry had it, and has deleted it at its date
        return _local_or(local, EXPIRED)
    except deposits.Unreachable:
        if local is not None or ran_out_here:
            return _local_or(local, EXPIRED)
        raise
    until = saved.expires(remote) if remote is not None else None
    if until is None or until < datetime.now(UTC):  # none, not one of ours, or past its date
        ran_out = until is not None or ran_out_here
        return _local_or(local, EXPIRED if ran_out else UNKNOWN)
    return remote, None


def _local_or(local: dict | None, problem: str) -> tuple[dict | None, str | None]:
    return (local, None) if local is not None else (None, problem)


def _may_resume(content: saved.Saved) -> bool:
    """An assisted application opens only for its worker, or an admin of the same centre.

    Checked after the code opened it and before anything is made of it: nothing is
    written for anyone else.
    """
    if content.worker_id is None:
        return True
    staff = staff_auth.current()
    if staff is None:
        return False
    if staff.id == content.worker_id:
        return True
    worker = accounts.get(content.worker_id)
    return bool(staff.is_admin and worker and worker.centre == staff.centre)


def _carry_on_in_session(draft: drafts.Draft, content: saved.Saved) -> None:
    """This browser now holds the resumed draft, in the language it was saved in."""
    session.pop("saved_code", None)
    session.pop("saved_until", None)
    session["draft"], session["submission"] = draft.id, draft.submission_id
    if content.locale in LANGUAGES:
        session["lang"] = content.locale
    if content.worker_id is not None:
        session["assisted"] = True


def _where_to(draft: drafts.Draft) -> str:
    """The page left unfinished, else the first question left, else the check page."""
    slug = draft.pending.get("slug")
    pending = steps.BY_SLUG.get(slug) if isinstance(slug, str) else None
    if pending is not None and pending.shown(draft.answers):
        return url_for("journey.question", slug=pending.slug)
    missing = steps.first_incomplete(draft.answers)
    if missing is not None:
        return url_for("journey.question", slug=missing.slug)
    return url_for("journey.check")
