"""Staff accounts, assisted applications, administration and the audit log."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.db import connect
from kiosk.staff import accounts
from tests.helpers import answer_all, answers_for, post_step, queued_payload, token

PASSWORD = "correct horse battery"


@pytest.fixture
def people(app):
    with app.test_request_context("/"):
        return {
            "aigerim": accounts.add(
                "aigerim", "Айгерім Серікова", "social_worker", "Алматы ӘҚКО", PASSWORD
            ),
            "dmitry": accounts.add("dmitry", "Дмитрий Ким", "social_worker", "Астана", PASSWORD),
            "admin": accounts.add("admin", "Ержан Әбілов", "admin", "", PASSWORD),
        }


def sign_in(client, username: str, password: str = PASSWORD):
    return post_step(client, "/staff/login", {"username": username, "password": password})


def _guarded_routes(app) -> list[tuple[str, str, str]]:
    """(rule, method, role) for every route whose view is guarded by staff_required."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        role = getattr(view, "staff_role", None)
        if role:
            url = rule.rule.replace("<int:staff_id>", "1").replace("<action>", "disable")
            url = url.replace("<submission_id>", "00000000-0000-4000-8000-000000000000")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((url, method, role))
    return routes


def test_every_staff_route_is_guarded(app):
    unguarded = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff")
        and rule.endpoint not in ("staff.login", "staff.logout")
        and not getattr(app.view_functions[rule.endpoint], "staff_role", None)
    ]
    assert unguarded == []
    assert len(_guarded_routes(app)) >= 9


def test_staff_routes_refuse_anonymous_people(app, client, people):
    for url, method, _role in _guarded_routes(app):
        response = client.open(url, method=method)
        if method == "POST" and response.status_code == 400:
            continue  # refused by CSRF before the guard: also a refusal
        assert response.status_code == 302, (url, method)
        assert "/staff/login" in response.headers["Location"]


def test_admin_routes_refuse_social_workers_and_worker_routes_refuse_admins(app, client, people):
    sign_in(client, "aigerim")
    csrf = token(client.get("/staff").text)
    for url, method, role in _guarded_routes(app):
        data = {"csrf_token": csrf} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        if role == "admin":
            assert response.status_code == 403, (url, method)
        else:
            assert response.status_code != 403, (url, method)
    admin = client.application.test_client()
    sign_in(admin, "admin")
    csrf = token(admin.get("/staff").text)
    assert admin.post("/staff/assist", data={"csrf_token": csrf}).status_code == 403


def test_login_page_allows_password_managers_and_paste(client):
    page = client.get("/staff/login").text
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    assert "onpaste" not in page and 'type="password"' in page


def test_wrong_password_is_explained_and_never_echoed(client, people):
    response = sign_in(client, "aigerim", "wrong password 123")
    assert response.status_code == 200
    assert "The user name or password is not right" in response.text
    assert "wrong password 123" not in response.text
    assert 'value="aigerim"' in response.text  # the name is kept


def test_lockout_after_five_failures_then_unlocks(app, client, people, monkeypatch):
    for _ in range(5):
        sign_in(client, "aigerim", "nope nope nope")
    response = sign_in(client, "aigerim")  # the right password, but locked
    assert "Too many wrong attempts" in response.text
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(accounts, "_now", lambda: later)
    assert sign_in(client, "aigerim").status_code == 302


def test_one_address_guessing_many_names_is_stopped(client, people):
    for number in range(30):
        sign_in(client, f"guess{number}", "nope nope nope")
    assert sign_in(client, "dmitry").status_code == 429  # by the rate limit (test_limits.py)


def test_signed_in_session_expires_when_idle(client, people):
    sign_in(client, "aigerim")
    assert client.get("/staff").status_code == 200
    with client.session_transaction() as session:
        session["staff_seen"] = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    assert "/staff/login" in client.get("/staff").headers["Location"]


def test_logout_ends_the_session_and_is_audited(app, client, people, db):
    sign_in(client, "aigerim")
    page = client.get("/staff").text
    form = re.search(r'action="/staff/logout"[^>]*>(.*?)</form>', page, re.S).group(1)
    client.post("/staff/logout", data={"csrf_token": token(form)})
    assert client.get("/staff").status_code == 302
    events = [row["event"] for row in db["audit"].rows]
    assert events == ["login", "logout"]


def _assist(client) -> None:
    page = client.get("/staff").text
    form = re.search(r'action="/staff/assist"[^>]*>(.*?)</form>', page, re.S).group(1)
    response = client.post("/staff/assist", data={"csrf_token": token(form)})
    assert response.headers["Location"].endswith("/apply/applicant-type")


def test_assisted_application_carries_the_worker_into_the_payload(client, people, db):
    sign_in(client, "aigerim")
    _assist(client)
    for slug, data in answers_for("individual"):
        page = client.get(f"/apply/{slug}").text
        assert "Assisted by Айгерім Серікова" in page, slug
        post_step(client, f"/apply/{slug}", data)
    declaration = client.get("/apply/declaration").text
    assert "How did the applicant agree?" in declaration
    missing = post_step(client, "/apply/declaration", {"consent": "y"})
    assert "Select how the applicant agreed" in missing.text
    assert "Tick the box to confirm how the applicant agreed" in missing.text
    sent = post_step(
        client,
        "/apply/declaration",
        {"consent": "y", "consent_method": "read_aloud", "worker_confirms": "y"},
    )
    assert sent.status_code == 303
    payload = queued_payload(next(iter(db["outbox"].rows)))
    assert payload["assisted"] == {
        "worker_id": people["aigerim"].id,
        "centre": "Алматы ӘҚКО",
        "consent_method": "read_aloud",
    }
    submission = next(iter(db["submissions"].rows))
    assert submission["worker_id"] == people["aigerim"].id
    assert submission["applicant_masked"] == "Ә*** Н*** С***"
    dashboard = client.get("/staff").text
    assert submission["reference"] in dashboard and "Ә*** Н*** С***" in dashboard
    assert "Сәрсенова" not in dashboard  # the name is masked
    audit = [(row["event"], row["reference"]) for row in db["audit"].rows]
    assert ("submit", submission["reference"]) in audit


def test_public_applications_carry_no_worker(client, db):
    answer_all(client)
    post_step(client, "/apply/declaration", {"consent": "y"})
    assert queued_payload(next(iter(db["outbox"].rows)))["assisted"] is None


def test_a_worker_cannot_open_another_workers_draft(app, people, db):
    first = app.test_client()
    sign_in(first, "aigerim")
    _assist(first)
    post_step(first, "/apply/applicant-type", {"applicant_type": "ngo"})
    draft = next(iter(db["drafts"].rows))
    other = app.test_client()
    sign_in(other, "dmitry")
    csrf = token(other.get("/staff").text)
    assert draft["submission_id"] not in other.get("/staff").text
    stolen = other.post(f"/staff/drafts/{draft['submission_id']}/resume", data={"csrf_token": csrf})
    assert stolen.status_code == 404
    own = first.post(
        f"/staff/drafts/{draft['submission_id']}/resume",
        data={"csrf_token": token(first.get("/staff").text)},
    )
    assert own.status_code == 302


def test_an_assisted_draft_is_sent_only_by_its_worker(app, people):
    worker = app.test_client()
    worker.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(worker, "aigerim")
    _assist(worker)
    answer_all(worker)
    with worker.session_transaction() as session:  # the worker's session runs out
        session["staff_seen"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert "/staff/login" in worker.get("/apply/declaration").headers["Location"]


def test_admin_sees_the_queue_and_retries_dead_items(app, client, people, db):
    answer_all(client)
    post_step(client, "/apply/declaration", {"consent": "y"})
    db.execute("UPDATE outbox SET status = 'dead', last_error = 'HTTP 422: schema'")
    admin = app.test_client()
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(admin, "admin")
    page = admin.get("/staff/admin/queue").text
    assert "HTTP 422: schema" in page
    form = re.search(r'action="/staff/admin/queue/retry"[^>]*>(.*?)</form>', page, re.S).group(1)
    admin.post("/staff/admin/queue/retry", data={"csrf_token": token(form)})
    assert next(iter(db["outbox"].rows))["status"] == "queued"
    assert "queue_retry" in [row["event"] for row in db["audit"].rows]


def test_admin_adds_disables_and_resets_staff(app, people, db):
    admin = app.test_client()
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(admin, "admin")
    added = post_step(
        admin,
        "/staff/admin/staff",
        {
            "username": "Saule",
            "name": "Сәуле Қасымова",
            "role": "social_worker",
            "centre": "Шымкент",
        },
    )
    password = re.search(r'class="reference">([^<]+)<', added.text).group(1)
    newcomer = app.test_client()
    assert sign_in(newcomer, "saule", password).status_code == 302

    taken = post_step(
        admin, "/staff/admin/staff", {"username": "saule", "name": "X Y", "role": "admin"}
    )
    assert "This user name is taken" in taken.text

    saule = accounts_by_name(app, "saule")
    page = admin.get("/staff/admin/staff").text
    form = re.search(rf'action="/staff/admin/staff/{saule}/disable"[^>]*>(.*?)</form>', page, re.S)
    admin.post(f"/staff/admin/staff/{saule}/disable", data={"csrf_token": token(form.group(1))})
    assert newcomer.get("/staff").status_code == 302  # her session ends at once
    assert sign_in(newcomer, "saule", password).status_code == 200  # and she cannot sign in

    events = [row["event"] for row in db["audit"].rows]
    assert "staff_add" in events and "staff_disable" in events


def accounts_by_name(app, username: str) -> int:
    with app.test_request_context("/"):
        return accounts.by_username(username).id


def test_audit_log_is_append_only(app, client, people, db):
    sign_in(client, "aigerim")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET event = 'nothing'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
    assert db["audit"].count == 1


def test_no_code_path_edits_or_deletes_the_audit_log():
    package = Path(__file__).resolve().parents[2] / "kiosk"
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8").upper()
        assert "UPDATE AUDIT" not in text and "DELETE FROM AUDIT" not in text, path


def test_audit_log_holds_no_applicant_data(app, people, db):
    worker = app.test_client()
    sign_in(worker, "aigerim")
    _assist(worker)
    answer_all(worker)
    post_step(
        worker,
        "/apply/declaration",
        {"consent": "y", "consent_method": "signed_paper", "worker_confirms": "y"},
    )
    dump = " ".join(str(value) for row in db["audit"].rows for value in row.values())
    for personal in ["Қамқор", "Айгерім Серікова", "180340021791", "+77012345678"]:
        assert personal not in dump


def test_audit_page_lists_events_for_admins(app, people):
    admin = app.test_client()
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(admin, "nobody", "nope nope nope")
    sign_in(admin, "admin")
    page = admin.get("/staff/admin/audit").text
    assert "login_failed" in page and "login" in page


def test_staff_cli_adds_disables_and_resets(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "staff",
            "add",
            "nurlan",
            "--name",
            "Нұрлан",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ]
    )
    assert "Added nurlan (admin)" in result.output
    short = runner.invoke(args=["staff", "add", "x", "--name", "X", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    reset = runner.invoke(args=["staff", "reset-password", "nurlan"]).output
    new_password = reset.rsplit(": ", 1)[1].strip()
    client = app.test_client()
    assert sign_in(client, "nurlan", new_password).status_code == 302
    assert "Disabled nurlan" in runner.invoke(args=["staff", "disable", "nurlan"]).output
    assert {"staff_add", "staff_password_reset", "staff_disable"} <= {
        row["event"] for row in connect(app.config["DATABASE"])["audit"].rows
    }
