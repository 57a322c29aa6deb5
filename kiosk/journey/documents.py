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


@bp.route("/apply/documents", methods=["GET", "POST"])
def page():
    draft = views.current_draft()
    if draft is None:
        return redirect(url_for("journey.start"))
    if not uploads.offered(draft.worker_id):
        abort(404)
    _forget_files_not_here(draft)
    form = DocumentsForm()
    if request.method == "POST" and form.validate_on_submit():
        return _act(form, draft)
    if request.args.get("too-large"):  # a body over the limit comes back here (nginx, the app)
        form.documents.errors = [TOO_MUCH]
    return _render(form, draft)


def _forget_files_not_here(draft: drafts.Draft) -> None:
    """Files listed in a draft resumed from another node are not on this one: say so.

    The saved answers travel between nodes; the sealed files do not (they go to the
    registry only with the application). The person adds them again here.
    """
    files = uploads.listed(draft.answers)
    held = store.held(get_db(), draft.submission_id)
    missing = [item for item in files if item.get("sha256") not in held]
    if not missing:
        return
    draft.answers["attachments"] = [item for item in files if item not in missing]
    drafts.save(draft)
    flash(
        ngettext(
            "%(num)d file you added on another device is not here. Please add it again.",
            "%(num)d files you added on another device are not here. Please add them again.",
            len(missing),
        ),
        "notice",
    )


def _act(form: DocumentsForm, draft: drafts.Draft):
    action = request.form.get("action", "")
    if action == "upload":
        try:
            form.documents.errors = _upload(draft)
        except sqlite3.OperationalError as error:
            views.not_saved(form, error)
        if form.errors:
            return _render(form, draft)
        return redirect(url_for("documents.page", **_changing()), 303)
    if action.startswith("remove:"):
        _remove(draft, action.removeprefix("remove:"))
        return redirect(url_for("documents.page", **_changing()), 303)
    return redirect(url_for("journey.check"), 303)  # Continue, after a change or not


def _changing() -> dict:
    return {"change": "1"} if request.args.get("change") == "1" else {}


def _upload(draft: drafts.Draft) -> list[str]:
    """Check, seal and keep each chosen file; the messages for those refused."""
    chosen = [item for item in request.files.getlist("documents") if item.filename]
    if not chosen:
        return [NO_FILE]
    messages: list[str] = []
    files = uploads.listed(draft.answers)
    me = identity()
    for item in chosen:
        data = item.stream.read(Documents.MAX_FILE_BYTES + 1)
        name = _as_chosen(item.filename or "")
        if len(files) >= Documents.MAX_FILES:
            messages.append(str(TOO_MANY))
            break
        try:
            cleaned = checks.inspect(data, item.filename or "")
        except checks.Refused as refused:
            messages.append(str(REFUSED[refused.problem]) % {"name": name})
            continue
        same = [kept for kept in files if kept["sha256"] == cleaned.sha256]
        if same:
            messages.append(str(ALREADY) % {"name": name, "kept": same[0]["name"]})
            continue
        if sum(kept["size"] for kept in files) + cleaned.size > Documents.MAX_TOTAL_BYTES:
            messages.append(str(TOO_MUCH))
            continue
        db = get_db()
        with transaction(db):
            kept = store.add(
                db,
                draft.submission_id,
                cleaned,
                node_id=me.node_id,
                registry_key=me.registry_key,
            )
            files.append(kept.as_answer())
            draft.answers["attachments"] = files
            drafts.save(draft, db)
    return messages


def _as_chosen(filename: str) -> str:
    """The name as the person chose it, cleaned for showing (never used as a path)."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        return checks.clean_name(filename, "")
    return checks.clean_name(filename, "." + extension)


def _remove(draft: drafts.Draft, attachment_id: str) -> None:
    files = uploads.listed(draft.answers)
    gone = [item for item in files if item.get("id") == attachment_id]
    if not gone:
        return
    db = get_db()
    with transaction(db):
        store.remove(db, draft.submission_id, attachment_id)
        draft.answers["attachments"] = [item for item in files if item not in gone]
        drafts.save(draft, db)
    forget_deleted(db)
    flash(gettext("%(name)s was removed.", name=gone[0]["name"]), "notice")


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
