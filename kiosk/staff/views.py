"""Staff pages: sign in and out, the social worker's dashboard, assisted applications, admin."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l

from .. import audit, drafts, limits, outbox
from ..db import get_db
from ..journey import steps
from ..urls import safe_local_path
from . import accounts, auth
from .forms import ConfirmForm, LoginForm, StaffForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        limits.count_sign_in()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            staff = accounts.authenticate(form.username.data, form.password.data)
        except accounts.LoginRefused as refused:
            message = (
                _l(
                    "Too many wrong attempts. Wait 15 minutes and try again, "
                    "or ask an administrator."
                )
                if refused.locked
                else _l("The user name or password is not right")
            )
            form.password.errors.append(message)
        else:
            auth.sign_in(staff)
            return redirect(safe_local_path(request.args.get("next"), url_for("staff.dashboard")))
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
def logout():
    staff = auth.current()
    if not ConfirmForm().validate_on_submit():
        staff = None  # without a token, only this browser's session ends
    if staff:
        audit.record("logout", staff_id=staff.id)
    auth.sign_out(staff)
    return redirect(url_for("journey.start"))


def mask(text: str) -> str:
    """A name shown on the dashboard: first letter of each word, the rest hidden (Ә*** С***)."""
    return " ".join(word[0] + "***" for word in text.split() if word) or "***"


def applicant_name(answers: dict) -> str:
    return answers.get("full_name") or answers.get("organisation_name") or ""


@bp.get("")
@auth.staff_required()
def dashboard():
    staff = auth.current()
    rows = (
        get_db()
        .execute(
            "SELECT s.reference, s.submitted_at, s.applicant_masked, o.status, o.delivered_at"
            " FROM submissions s LEFT JOIN outbox o ON o.submission_id = s.id"
            " WHERE s.worker_id = ? ORDER BY s.submitted_at DESC LIMIT 200",
            [staff.id],
        )
        .fetchall()
    )
    own_drafts = [
        {"id": draft.submission_id, "name": mask(applicant_name(draft.answers))}
        for draft in drafts.by_worker(staff.id)
    ]
    return render_template(
        "staff/dashboard.html", staff=staff, submitted=rows, drafts=own_drafts, form=ConfirmForm()
    )


@bp.post("/assist")
@auth.staff_required(accounts.SOCIAL_WORKER)
def assist():
    """Start a new application on behalf of an applicant."""
    staff = auth.current()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    limits.count_new_draft()
    draft = drafts.create(worker_id=staff.id)
    session.update({"draft": draft.id, "submission": draft.submission_id, "assisted": True})
    audit.record("assisted_start", staff_id=staff.id)
    return redirect(url_for("journey.question", slug=steps.STEPS[0].slug))


@bp.post("/drafts/<submission_id>/resume")
@auth.staff_required(accounts.SOCIAL_WORKER)
def resume(submission_id: str):
    """Carry on with a draft this worker started; anyone else's is not found."""
    staff = auth.current()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mine = {draft.submission_id: draft for draft in drafts.by_worker(staff.id)}
    draft = mine.get(submission_id) or abort(404)
    session.update({"draft": draft.id, "submission": draft.submission_id, "assisted": True})
    audit.record("assisted_resume", staff_id=staff.id)
    first_missing = steps.first_incomplete(draft.answers)
    if first_missing:
        return redirect(url_for("journey.question", slug=first_missing.slug))
    return redirect(url_for("journey.check"))


# Administration ----------------------------------------------------------------------


@bp.get("/admin/queue")
@auth.staff_required(accounts.ADMIN)
def queue():
    return render_template("staff/queue.html", report=outbox.summary(get_db()), form=ConfirmForm())


@bp.post("/admin/queue/retry")
@auth.staff_required(accounts.ADMIN)
def queue_retry():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = get_db()
    revived = outbox.revive_dead(db)
    outbox.resume(db)
    audit.record("queue_retry", staff_id=auth.current().id, detail=f"revived {revived}")
    flash(_l("The applications that could not be sent will be tried again."))
    return redirect(url_for("staff.queue"))


@bp.route("/admin/staff", methods=["GET", "POST"])
@auth.staff_required(accounts.ADMIN)
def staff_list():
    form = StaffForm()
    if form.validate_on_submit():
        if accounts.by_username(form.username.data):
            form.username.errors.append(_l("This user name is taken"))
        else:
            password = accounts.new_password()
            added = accounts.add(
                form.username.data, form.name.data, form.role.data, form.centre.data, password
            )
            audit.record("staff_add", staff_id=auth.current().id, detail=f"added {added.id}")
            return render_template("staff/password.html", person=added, password=password)
    return render_template(
        "staff/staff.html", form=form, people=accounts.everyone(), confirm=ConfirmForm()
    )


@bp.post("/admin/staff/<int:staff_id>/<action>")
@auth.staff_required(accounts.ADMIN)
def staff_action(staff_id: int, action: str):
    person = accounts.get(staff_id) or abort(404)
    if not ConfirmForm().validate_on_submit() or action not in ("disable", "enable", "reset"):
        abort(400)
    admin = auth.current()
    if action == "reset":
        password = accounts.reset_password(person.id)
        audit.record("staff_password_reset", staff_id=admin.id, detail=f"for {person.id}")
        return render_template("staff/password.html", person=person, password=password)
    if person.id == admin.id:
        abort(400)  # an administrator cannot lock themselves out
    accounts.set_disabled(person.id, action == "disable")
    audit.record(f"staff_{action}", staff_id=admin.id, detail=f"for {person.id}")
    return redirect(url_for("staff.staff_list"))


@bp.get("/admin/audit")
@auth.staff_required(accounts.ADMIN)
def audit_log():
    return render_template("staff/audit.html", entries=audit.recent())


def assisting() -> accounts.Staff | None:
    """The social worker filling in this application with the applicant, if any."""
    if not session.get("assisted"):
        return None
    return auth.current()


def init_app(app) -> None:
    from .cli import staff_cli

    app.register_blueprint(bp)
    app.cli.add_command(staff_cli)
    app.jinja_env.globals.update(current_staff=auth.current, assisting=assisting)
