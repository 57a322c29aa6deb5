"""The audit log cannot be rewritten, and `flask audit verify` finds any row that was."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk import audit
from kiosk.db import connect


@pytest.fixture
def logged(app, db):
    """An app whose audit log has five rows, written the way the app writes them."""
    with app.app_context():
        for number in range(5):
            audit.record("queue_retry", detail=f"revived {number}")
    return app


def verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_insert_or_replace_cannot_rewrite_a_row(logged, db):
    before = db.execute("SELECT * FROM audit WHERE id = 2").fetchone()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(
            "INSERT OR REPLACE INTO audit (id, at, event, hash) VALUES (2, 'x', 'login', 'x')"
        )
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(
            "INSERT INTO audit (id, at, event, hash) VALUES (2, 'x', 'login', 'x')"
            " ON CONFLICT (id) DO UPDATE SET event = 'login'"
        )
    assert db.execute("SELECT * FROM audit WHERE id = 2").fetchone() == before
    assert db["audit"].count == 5


def test_a_row_without_a_hash_is_refused(logged, db):
    with pytest.raises(sqlite3.DatabaseError, match="audit.record"):
        db.execute("INSERT INTO audit (at, event) VALUES ('2026-01-01T00:00:00+00:00', 'login')")


def test_verify_says_ok_with_the_count(logged):
    result = verify(logged)
    assert result.exit_code == 0, result.output
    assert "OK: 5 rows" in result.output


def test_every_row_is_chained_to_the_one_before(logged, db):
    rows = list(db.execute("SELECT id, hash FROM audit ORDER BY id"))
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]
    assert len({row[1] for row in rows}) == 5 and all(len(row[1]) == 64 for row in rows)


def test_a_row_changed_behind_the_triggers_back_is_found(logged, db):
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = 'revived 0 (nothing to see)' WHERE id = 3")
    result = verify(logged)
    assert result.exit_code != 0
    assert "broken at row 3" in result.output


def test_a_row_changed_together_with_its_hash_breaks_the_next_row(logged, db):
    db.execute("DROP TRIGGER audit_no_update")
    forged = {**db["audit"].get(3), "detail": "forged"}
    previous = db["audit"].get(2)["hash"]
    db.execute(
        "UPDATE audit SET detail = 'forged', hash = ? WHERE id = 3", [audit.link(previous, forged)]
    )
    result = verify(logged)
    assert result.exit_code != 0 and "broken at row 4" in result.output


def test_a_deleted_row_is_found(logged, db):
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE id = 2")
    result = verify(logged)
    assert result.exit_code != 0
    assert "broken at row 3" in result.output and "row 2 is missing" in result.output


def test_a_deleted_first_row_is_found(logged, db):
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE id = 1")
    assert "broken at row 2" in verify(logged).output


def test_a_row_added_with_a_made_up_hash_is_found(logged, db):
    db.execute("INSERT INTO audit (id, at, event, hash) VALUES (6, 'x', 'login', ?)", ["0" * 64])
    result = verify(logged)
    assert result.exit_code != 0 and "broken at row 6" in result.output


def test_an_older_log_without_hashes_is_chained_from(make_app, tmp_path):
    """Rows from before the chain are counted apart, and covered by the first chained row."""
    old = connect(tmp_path / "kiosk.sqlite3")
    old.execute(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL,"
        " staff_id INTEGER, ip TEXT, reference TEXT, detail TEXT)"
    )
    for number in range(3):
        old.execute(
            "INSERT INTO audit (at, event, detail) VALUES (?, 'login', ?)",
            ["2026-11-01T09:00:00+00:00", f"old {number}"],
        )
    old.close()
    app = make_app()
    with app.app_context():
        audit.record("queue_retry", detail="after the upgrade")
        audit.record("queue_retry", detail="and again")
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "OK: 5 rows, 3 of them from before the chain began" in result.output

    db = connect(tmp_path / "kiosk.sqlite3")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = 'rewritten' WHERE id = 2")
    result = verify(app)
    assert result.exit_code != 0 and "broken at row 4" in result.output


def test_an_empty_log_verifies(app):
    result = verify(app)
    assert result.exit_code == 0 and "OK: 0 rows" in result.output


def test_hostile_details_are_chained_like_any_other(app, db):
    with app.app_context():
        for detail in ["", "\x00", "\n" * 3, "é" * 10_000, '"],["', None]:
            audit.record("queue_retry", detail=detail)
    assert verify(app).exit_code == 0
