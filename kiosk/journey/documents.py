"""The supporting documents page: upload, list, remove, continue (GOV.UK's file upload pattern).

    GET  /apply/documents ─▶ the files added so far, an upload field, Continue
    POST action=upload (multipart, in memory) ─▶ each file: checks.inspect ─▶ sealed and
         kept (documents.store) ─▶ listed in the draft's answers ─▶ this page again, with
         a message for each file refused and everything else kept
    POST action=remove:<id> ─▶ gone ─▶ this page
    POST (Continue) ─▶ the check page

It works with no script: each upload is one plain POST. Files are optional, so the
page never stops anyone going on.
"""

from __future__ import annotations

import sqlite3

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from .. import drafts
from ..competition import Documents
from ..db import forget_deleted, get_db, transaction
from ..documents import checks, shown, store, uploads
from ..node import identity
from . import steps, views
from .forms import DocumentsForm

bp = Blueprint("documents", __name__)

NO_FILE = _l("Choose a file to upload")
TOO_MANY = _l("You can add up to 5 files. Remove a file before you add another.")
TOO_MUCH = _l(
    "The files you chose are more than 25 MB together. Remove a file, or choose a smaller one."
)
AT_ONCE = _l(
    "The files you chose at once are too many or too large: the most is 5 files and 25 MB in "
    "all. Choose fewer or smaller files."
)
ALREADY = _l("%(name)s is the same file as %(kept)s, which is already in your list.")
REFUSED = {
    checks.Problem.EMPTY: _l("%(name)s is empty. Choose the file again."),
    checks.Problem.TOO_LARGE: _l("%(name)s is larger than 10 MB. Choose a smaller file."),
    checks.Problem.TYPE: _l(
        "%(name)s is not a PDF, JPEG, PNG, HEIC, Word (DOCX) or Excel (XLSX) file."
    ),
    checks.Problem.DAMAGED: _l(
        "%(name)s cannot be opened. It may be damaged: save it again and upload the new copy."
    ),
    checks.Problem.TOO_MANY_PIXELS: _l(
        "%(name)s is too large a picture to open. Make it smaller and upload it again."
    ),
    checks.Problem.MIXED: _l(
        "%(name)s holds more than one kind of file. Save it again as a plain PDF, picture, "
        "Word or Excel file and upload that."
    ),
    checks.Problem.PASSWORD: _l(
        "%(name)s is protected by a password. Remove the password and upload it again."
    ),
    checks.Problem.ACTIVE: _l(
        "%(name)s contains scripts or attached files. Save or print it again as a plain PDF "
        "and upload that."
    ),
    checks.Problem.MACROS: _l(
        "%(name)s contains macros or embedded programs. Save it as a Word document (DOCX) or "
        "Excel workbook (XLSX) without them and upload it again."
    ),
    checks.Problem.EXTERNAL: _l(
        "%(name)s links to other files. Save a copy without the links and upload that."
    ),
}


@bp.before_request
def only_while_open():
    return views.closed_response()


class _DraftGone(Exception):
    """The draft ended while this request checked files (submitted or saved in another tab,
    timed out, resumed elsewhere): the next page says why, as on any question."""


@bp.route("/apply/documents", methods=["GET", "POST"])
def page():
    draft = views.current_draft()
    if draft is None:
        return redirect(url_for("journey.start"))
    if not uploads.offered(draft.worker_id):
        abort(404)
    form = DocumentsForm()
    try:
        _forget_files_not_here(draft)
        if request.method == "POST" and form.validate_on_submit():
            return _act(form, draft)
    except _DraftGone:
        return redirect(url_for("documents.page"), 303)
    if request.args.get("too-large"):  # a body over the limit comes back here (nginx, the app)
        form.documents.errors = [AT_ONCE]
    return _render(form, draft)


def _forget_files_not_here(draft: drafts.Draft) -> None:
    """Files listed in a draft resumed from another node are not on this one: say so.

    The saved answers travel between nodes; the sealed files do not (they go to the
    registry only with the application). The person adds them again here.
    """
    db = get_db()
    held = store.held(db, draft.submission_id)
    if all(item.get("sha256") in held for item in uploads.listed(draft.answers)):
        return
    with transaction(db):
        current = _reloaded(draft, db)
        files = uploads.listed(current.answers)
        missing = [item for item in files if item.get("sha256") not in held]
        current.answers["attachments"] = [item for item in files if item not in missing]
        drafts.save(current, db)
    draft.answers = current.answers
    if missing:
        flash(
            ngettext(
                "%(num)d file you added on another device is not here. Please add it again.",
                "%(num)d files you added on another device are not here. Please add them again.",
                len(missing),
            ),
            "notice",
        )


def _reloaded(draft: drafts.Draft, db) -> drafts.Draft:
    """The draft as it is now, inside the caller's transaction; _DraftGone if it ended.

    The answers are read again here, not taken from the start of the request: another tab
    may have added or removed a file meanwhile, and the limits count what is there now.
    """
    current = drafts.load(draft.id, db)
    if current is None:
        raise _DraftGone(draft.id)
    return current


def _act(form: DocumentsForm, draft: drafts.Draft):
    action = request.form.get("action", "")
    if action.startswith("remove:"):
        _remove(draft, action.removeprefix("remove:"))
        return redirect(url_for("documents.page", **_changing()), 303)
    # Upload, and Continue too: a file chosen and not uploaded yet is taken, never dropped.
    try:
        form.documents.errors = take_chosen(draft, required=action == "upload")
    except sqlite3.OperationalError as error:
        views.not_saved(form, error)
    if form.errors:
        return _render(form, draft)
    if action == "upload":
        return redirect(url_for("documents.page", **_changing()), 303)
    return redirect(url_for("journey.check"), 303)  # Continue, after a change or not


def _changing() -> dict:
    return {"change": "1"} if request.args.get("change") == "1" else {}


def take_chosen(draft: drafts.Draft, required: bool = False) -> list[str]:
    """Check, seal and keep each file chosen in this request; the messages for those refused.

    `required`: choosing none is itself a mistake (the Upload button). Also called when the
    page is saved (kiosk/journey/saving.py), so a file chosen there is kept too.
    """
    chosen = [item for item in request.files.getlist("documents") if item.filename]
    if not chosen:
        return [str(NO_FILE)] if required else []
    messages: list[str] = []
    for item in chosen:
        data = item.stream.read(Documents.MAX_FILE_BYTES + 1)
        name = _as_chosen(item.filename or "")
        try:
            cleaned = checks.inspect(data, item.filename or "")
        except checks.Refused as refused:
            message = str(REFUSED[refused.problem]) % {"name": name}
        else:
            message = _keep(draft, cleaned, name)
        if message and message not in messages:
            messages.append(message)
    return messages


def _keep(draft: drafts.Draft, cleaned: checks.Cleaned, name: str) -> str | None:
    """Seal one checked file into the draft's list, within the limits; else why not."""
    me = identity()
    db = get_db()
    with transaction(db):
        current = _reloaded(draft, db)
        files = uploads.listed(current.answers)
        if len(files) >= Documents.MAX_FILES:
            return str(TOO_MANY)
        same = [kept for kept in files if kept["sha256"] == cleaned.sha256]
        if same:
            return str(ALREADY) % {"name": name, "kept": same[0]["name"]}
        if sum(kept["size"] for kept in files) + cleaned.size > Documents.MAX_TOTAL_BYTES:
            return str(TOO_MUCH)
        kept = store.add(
            db, current.submission_id, cleaned, node_id=me.node_id, registry_key=me.registry_key
        )
        current.answers["attachments"] = [*files, kept.as_answer()]
        drafts.save(current, db)
    draft.answers = current.answers
    return None


def _as_chosen(filename: str) -> str:
    """The name as the person chose it, cleaned for showing (never used as a path)."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        return checks.clean_name(filename, "")
    return checks.clean_name(filename, "." + extension)


def _remove(draft: drafts.Draft, attachment_id: str) -> None:
    db = get_db()
    with transaction(db):
        current = _reloaded(draft, db)
        files = uploads.listed(current.answers)
        gone = [item for item in files if item.get("id") == attachment_id]
        if not gone:
            return
        store.remove(db, current.submission_id, attachment_id)
        current.answers["attachments"] = [item for item in files if item not in gone]
        drafts.save(current, db)
    draft.answers = current.answers
    forget_deleted(db)
    flash(gettext("%(name)s was removed.", name=gone[0]["name"]), "notice")


def page_with(draft: drafts.Draft, messages: list[str]):
    """This page with these messages at the file field (a save that refused a file)."""
    form = DocumentsForm()
    form.documents.errors = messages
    return _render(form, draft)


def _render(form: DocumentsForm, draft: drafts.Draft):
    files = [shown.shown(item) for item in uploads.listed(draft.answers)]
    changing = request.args.get("change") == "1"
    return render_template(
        "journey/documents.html",
        form=form,
        files=files,
        title=shown.TITLE,
        back=url_for("journey.check") if changing else _back(draft),
        action=url_for("documents.page", **_changing()),
    )


def _back(draft: drafts.Draft) -> str:
    last = steps.visible(draft.answers)[-1]
    return url_for("journey.question", slug=last.slug)
