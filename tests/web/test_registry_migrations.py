"""The registry's schema migrations, on SQLite and on a real PostgreSQL.

A registry brings its database up to date when it starts, applies each migration once,
adopts a database made before migrations existed, and leaves the schema as it was when
a migration fails (or the process dies mid-way: it is one transaction).
"""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
import sqlite_utils

from kiosk.registry import database, migrations
from kiosk.registry.migrations import MIGRATIONS, Migration
from tests.forwarding import make_registry

LATEST = [migration.version for migration in MIGRATIONS]


def config_of(tmp_path, registry_backend) -> dict:
    return {"DATABASE": str(tmp_path / "registry.sqlite3"), **registry_backend}


def tables(db) -> set[str]:
    if db.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    return {row[0] for row in db.execute(sql)}


def test_a_new_database_gets_every_migration_once(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    with database.connected(app.config) as db:
        assert migrations.applied(db) == LATEST
        assert {"applications", "nodes", "saved", "files", "schema_migrations"} <= tables(db)
        assert migrations.migrate(db) == []  # a second start applies nothing
    make_registry(tmp_path / "registry", **registry_backend)  # nor does a restart
    with database.connected(app.config) as db:
        assert migrations.applied(db) == LATEST


def test_a_new_migration_runs_on_the_next_start_and_keeps_the_data(tmp_path, registry_backend):
    app = make_registry(tmp_path / "registry", **registry_backend)
    with database.connected(app.config) as db:
        db.execute(
            "INSERT INTO nodes (node_id, token_sha256, public_key, created_at) VALUES (?, ?, ?, ?)",
            ["node-a", "t", "k", "2026-01-01"],
        )
        later = Migration(
            999,
            "a note per node",
            "ALTER TABLE nodes ADD COLUMN note TEXT",
            "ALTER TABLE nodes ADD COLUMN note TEXT",
        )
        assert migrations.migrate(db, (*MIGRATIONS, later)) == [999]
        assert db.rows("SELECT node_id, note FROM nodes") == [{"node_id": "node-a", "note": None}]
        assert migrations.applied(db) == [*LATEST, 999]


def test_a_failing_migration_changes_nothing(tmp_path, registry_backend):
    make_registry(tmp_path / "registry", **registry_backend)
    broken = Migration(
        999,
        "half done",
        "CREATE TABLE halfway (x TEXT); INSERT INTO no_such_table VALUES (1)",
        "CREATE TABLE halfway (x TEXT); INSERT INTO no_such_table VALUES (1)",
    )
    with database.connected(config_of(tmp_path / "registry", registry_backend)) as db:
        with pytest.raises(Exception, match="no_such_table"):
            migrations.migrate(db, (*MIGRATIONS, broken))
        assert "halfway" not in tables(db)
        assert migrations.applied(db) == LATEST


def _old_registry_schema(path: str) -> None:
    """The tables the registry made before migrations, as its create_schema did."""
    db = sqlite_utils.Database(sqlite3.connect(path))
    db["nodes"].create(
        {
            "node_id": str,
            "token_sha256": str,
            "public_key": str,
            "created_at": str,
            "disabled": int,
        },
        pk="node_id",
        not_null={"token_sha256", "public_key", "created_at"},
        defaults={"disabled": 0},
    )
    db["nodes"].create_index(["token_sha256"], unique=True)
    db["applications"].create(
        {
            "id": int,
            "node_id": str,
            "submission_id": str,
            "payload_sha256": str,
            "payload": str,
            "received_at": str,
            "via": str,
        },
        pk="id",
        not_null={"node_id", "submission_id", "payload_sha256", "payload", "received_at", "via"},
    )
    db["applications"].create_index(["node_id", "submission_id"], unique=True)
    db["applications"].create_index(["submission_id"], unique=True)
    db["applications"].insert(
        {
            "node_id": "node-a",
            "submission_id": "s-1",
            "payload_sha256": "h",
            "payload": "{}",
            "received_at": "2026-01-01",
            "via": "http",
        }
    )
    db.conn.commit()
    db.conn.close()


def test_a_database_from_before_migrations_is_adopted_as_it_is(tmp_path):
    folder = tmp_path / "registry"
    folder.mkdir()
    _old_registry_schema(str(folder / "registry.sqlite3"))
    app = make_registry(folder)
    with database.connected(app.config) as db:
        assert migrations.applied(db) == LATEST
        assert [row["submission_id"] for row in db.rows("SELECT * FROM applications")] == ["s-1"]
        # the adopted table keeps its exactly-once rule
        again = db.execute(
            "INSERT INTO applications (node_id, submission_id, payload_sha256, payload,"
            " received_at, via) VALUES ('node-b', 's-1', 'h', '{}', 'x', 'http')"
            " ON CONFLICT DO NOTHING RETURNING id"
        ).fetchall()
        assert again == []


def _start(config: dict, barrier) -> list[int]:
    barrier.wait()
    with database.connected(config) as db:
        return migrations.migrate(db)


def test_workers_starting_together_apply_each_migration_once(postgres):
    """gunicorn starts its workers at once: one applies the migrations, the rest find them."""
    url = postgres.create_database()
    try:
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager:
            barrier = manager.Barrier(4)
            with context.Pool(4) as pool:
                done = pool.starmap(_start, [({"DATABASE_URL": url}, barrier)] * 4)
        assert sorted(done, key=len) == [[], [], [], LATEST]
        with database.connected({"DATABASE_URL": url}) as db:
            assert migrations.applied(db) == LATEST
    finally:
        database.close_pools()
        postgres.drop_database(url)
