"""The `flask` commands an operator uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk import drafts
from tests.helpers import post_step


def test_init_db_reports_the_database(app):
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and app.config["DATABASE"] in result.output


def test_expire_drafts_deletes_only_old_drafts(app, client, db, monkeypatch):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    runner = app.test_cli_runner()
    assert "Deleted 0 expired drafts" in runner.invoke(args=["expire-drafts"]).output
    later = datetime.now(UTC) + timedelta(hours=25)
    monkeypatch.setattr(drafts, "_now", lambda: later)
    assert "Deleted 1 expired drafts" in runner.invoke(args=["expire-drafts"]).output
    assert db["drafts"].count == 0
