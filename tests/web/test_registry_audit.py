"""The registry's audit log (kiosk/registry/audit_log.py), on SQLite and on PostgreSQL.

Rows go in and come back in order; the database itself refuses to change or remove
one, whatever the application does; and a row changed behind the triggers' back (by
someone who dropped them) breaks the hash chain where it was changed.
"""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from kiosk.registry import audit_log, database
from kiosk.registry.cli import registry_cli
from tests.forwarding import make_registry, registry_env


@pytest.fixture
def registry(tmp_path, registry_backend):
    return make_registry(tmp_path / "registry", **registry_backend)


def _refused(db, sql: str) -> str:
    """Run `sql` and return the database's refusal (it must refuse)."""
    try:
        with db.transaction():
            db.execute(sql)
    except Exception as error:  # sqlite3.IntegrityError or psycopg.errors.RestrictViolation
        return str(error)
    raise AssertionError(f"the database let this through: {sql}")


def test_rows_come_back_in_order_with_their_detail(registry):
    with database.connected(registry.config) as db:
        audit_log.record(db, "export", "alice", {"region": "KZ-75", "count": 3})
        audit_log.record(db, "admin_login", "Қуаныш", {})
        rows = audit_log.entries(db)
    assert [(row["id"], row["event"], row["actor"]) for row in rows] == [
        (1, "export", "alice"),
        (2, "admin_login", "Қуаныш"),
    ]
    assert rows[0]["detail"] == {"region": "KZ-75", "count": 3}
    assert rows[0]["at"] <= rows[1]["at"]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE registry_audit SET actor = 'someone else'",
        "DELETE FROM registry_audit",
        "DELETE FROM registry_audit WHERE id = 1",
    ],
)
def test_the_database_refuses_to_change_or_remove_a_row(registry, sql):
    with database.connected(registry.config) as db:
        audit_log.record(db, "export", "alice", {"region": "KZ-75"})
        assert "append-only" in _refused(db, sql)
        rows = audit_log.entries(db)
    assert [(row["actor"], row["detail"]) for row in rows] == [("alice", {"region": "KZ-75"})]


def test_a_row_cannot_be_replaced_or_the_table_emptied(registry):
    with database.connected(registry.config) as db:
        audit_log.record(db, "export", "alice", {})
        if db.dialect == "sqlite":  # REPLACE deletes without firing a DELETE trigger
            _refused(
                db, "INSERT OR REPLACE INTO registry_audit VALUES (1, 'a', 'b', 'c', '{}', 'h')"
            )
        else:
            assert "append-only" in _refused(db, "TRUNCATE registry_audit")
        _refused(db, "INSERT INTO registry_audit VALUES (1, 'a', 'b', 'c', '{}', 'h')")
        assert [row["actor"] for row in audit_log.entries(db)] == ["alice"]


def _drop_triggers(db) -> None:
    if db.dialect == "sqlite":
        for name in ("update", "delete"):
            db.execute(f"DROP TRIGGER registry_audit_no_{name}")
    else:
        db.execute("DROP TRIGGER registry_audit_no_change ON registry_audit")


def test_a_row_changed_behind_the_triggers_breaks_the_chain_there(registry):
    with database.connected(registry.config) as db:
        for actor in ("alice", "bob", "carol"):
            audit_log.record(db, "export", actor, {"count": 1})
        assert audit_log.verify(db).broken_at is None and audit_log.verify(db).rows == 3
        _drop_triggers(db)
        db.execute("UPDATE registry_audit SET detail = ? WHERE id = 2", ['{"count":0}'])
        assert audit_log.verify(db).broken_at == 2


def test_a_removed_row_breaks_the_chain(registry):
    with database.connected(registry.config) as db:
        for actor in ("alice", "bob", "carol"):
            audit_log.record(db, "export", actor, {})
        _drop_triggers(db)
        db.execute("DELETE FROM registry_audit WHERE id = 3")
        assert audit_log.verify(db).broken_at is None  # the last row gone: the head is shorter
        db.execute("DELETE FROM registry_audit WHERE id = 1")
        verdict = audit_log.verify(db)
    assert verdict.broken_at == 1 and "missing" in verdict.reason


def test_a_row_is_written_inside_the_callers_transaction_and_rolls_back_with_it(registry):
    with database.connected(registry.config) as db:
        with pytest.raises(RuntimeError), db.transaction(lock="something"):
            audit_log.record(db, "export", "alice", {})
            raise RuntimeError("what was audited did not happen")
        assert audit_log.entries(db) == []
        with db.transaction(lock="something"):
            audit_log.record(db, "export", "bob", {})
        assert [row["actor"] for row in audit_log.entries(db)] == ["bob"]


@pytest.mark.parametrize("event", ["", "Export", "export; drop", "x" * 41])
def test_an_event_name_is_a_short_identifier(registry, event):
    with database.connected(registry.config) as db, pytest.raises(ValueError):
        audit_log.record(db, event, "alice", {})


def test_an_actor_is_required(registry):
    with database.connected(registry.config) as db, pytest.raises(ValueError):
        audit_log.record(db, "export", "  ", {})


def test_flask_registry_audit_prints_the_log_and_checks_the_chain(registry):
    with database.connected(registry.config) as db:
        audit_log.record(db, "export", "alice", {"region": "KZ-75", "applications": 2})
        audit_log.record(db, "admin_login", "bob", {})
    result = CliRunner().invoke(registry_cli, ["audit"], env=registry_env(registry))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "export" in lines[0] and "alice" in lines[0] and "KZ-75" in lines[0]
    assert "admin_login" in lines[1] and "bob" in lines[1]
    assert "2 rows" in lines[-1] and "intact" in lines[-1]
    with database.connected(registry.config) as db:
        _drop_triggers(db)
        db.execute("UPDATE registry_audit SET actor = 'mallory' WHERE id = 1")
    result = CliRunner().invoke(registry_cli, ["audit"], env=registry_env(registry))
    assert result.exit_code == 1
    assert "broken at row 1" in result.output


def test_the_chain_stays_whole_when_several_write_at_once(registry):
    """Each row chains from the last: two writers must not both read the same last row."""

    def write(actor: str) -> None:
        with database.connected(registry.config) as db:
            for number in range(15):
                audit_log.record(db, "export", actor, {"n": number})

    threads = [threading.Thread(target=write, args=(f"writer {n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.connected(registry.config) as db:
        verdict = audit_log.verify(db)
        rows = audit_log.entries(db)
    assert verdict.broken_at is None and verdict.rows == 45
    assert sorted(row["id"] for row in rows) == list(range(1, 46))
