"""The registry's database: one small interface, two backends (SQLite and PostgreSQL).

The stores (store.py, saved_store.py, files_store.py, …) are written once, in SQL that
both backends speak: `?` placeholders, `INSERT … ON CONFLICT … DO NOTHING`, and
`RETURNING`. SQLite is the embedded default, a file under the registry's instance
folder; `REGISTRY_DATABASE_URL=postgresql://…` puts the registry on PostgreSQL, for a
country's worth of nodes and several server processes.

Statements outside a `transaction()` commit on their own (autocommit), on both.
`transaction(lock)` is one atomic block. On SQLite it takes the write lock at once
(BEGIN IMMEDIATE), so every writer waits its turn. On PostgreSQL writers run side by
side; a block that reads and then writes what it read names a `lock` (an upload's id, a
lookup id), and blocks naming the same one run one at a time.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from flask import Flask, current_app, g

from .. import db as sqlite_db


class Unavailable(Exception):
    """The database cannot be reached or cannot write now; the request may be tried again."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Sequence[Any] | None: ...

    def fetchall(self) -> list[Sequence[Any]]: ...

    def __iter__(self) -> Iterator[Sequence[Any]]: ...


class Database(Protocol):
    """What every store is written against."""

    dialect: str  # "sqlite" or "postgresql": only migrations.py should need it

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def transaction(self, lock: str | None = None) -> Any: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """The embedded backend: the node's own connection settings (kiosk/db.py)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.conn = sqlite_db.connect(path).conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        try:
            return self.conn.execute(sql, tuple(params))
        except sqlite3.OperationalError as error:
            if _sqlite_passing(error):
                raise Unavailable(str(error)) from error
            raise

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[SqliteDatabase]:
        """BEGIN IMMEDIATE: the one write lock, taken before the first read."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.rollback()
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def _sqlite_passing(error: sqlite3.OperationalError) -> bool:
    """A lock held too long or a full disk: it passes, unlike a mistake in the SQL."""
    text = str(error).lower()
    return "locked" in text or "busy" in text or "full" in text or "disk i/o" in text


class PostgresDatabase:
    """One pooled PostgreSQL connection, in autocommit, lent for one request or command."""

    dialect = "postgresql"

    def __init__(self, conn: Any, release: Any) -> None:
        self.conn = conn
        self._release = release  # gives the connection back to its pool, or closes it

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        import psycopg

        try:
            return self.conn.execute(_pyformat(sql), tuple(params))
        except psycopg.OperationalError as error:
            raise Unavailable(str(error)) from error

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[PostgresDatabase]:
        """One transaction; with `lock`, one at a time among those naming it."""
        import psycopg

        try:
            with self.conn.transaction():
                if lock is not None:
                    self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [lock])
                yield self
        except psycopg.OperationalError as error:
            raise Unavailable(str(error)) from error

    def close(self) -> None:
        self._release(self.conn)


def _pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


# One pool per process: gunicorn forks its workers, and a connection must not cross a fork.
_pools: dict[tuple[int, str], Any] = {}


def _pool(url: str) -> Any:
    key = (os.getpid(), url)
    if key not in _pools:
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=int(os.environ.get("REGISTRY_POOL_SIZE", "8")),
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,  # a server restarted: no dead connection lent
            # How long a request waits for a connection before its 503: the server may be away.
            timeout=float(os.environ.get("REGISTRY_POOL_TIMEOUT", "5")),
            open=True,
        )
        atexit.register(_close_if_own, key)  # a forked child inherits this: it closes only its own
        _pools[key] = pool
    return _pools[key]


def _close_if_own(key: tuple[int, str]) -> None:
    pool = _pools.pop(key, None) if key[0] == os.getpid() else None
    if pool is not None:
        pool.close()


def open_database(config: dict, *, pooled: bool = True) -> Database:
    """A connection to the registry's database as `config` names it.

    `pooled=False` opens a connection of its own, closed with it: for the migrations
    at start, which gunicorn's master runs before it forks its workers.
    """
    url = config.get("DATABASE_URL") or ""
    if not url:
        return SqliteDatabase(config["DATABASE"])
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        if not pooled:
            return PostgresDatabase(psycopg.connect(url, autocommit=True), _close_connection)
        pool = _pool(url)
        return PostgresDatabase(pool.getconn(), pool.putconn)
    except (PoolTimeout, psycopg.OperationalError) as error:
        raise Unavailable(str(error)) from error


def _close_connection(conn: Any) -> None:
    conn.close()


def close_pools() -> None:
    """Close this process's pools (tests that drop a database first)."""
    for key in [key for key in _pools if key[0] == os.getpid()]:
        _close_if_own(key)


def get_db() -> Database:
    """The current request's connection, opened on first use, given back at teardown."""
    if "registry_db" not in g:
        g.registry_db = open_database(current_app.config)
    return g.registry_db


def _close(_error: BaseException | None = None) -> None:
    database = g.pop("registry_db", None)
    if database is not None:
        database.close()


@contextmanager
def connected(config: dict, *, pooled: bool = True) -> Iterator[Database]:
    """A connection for a command or a test, outside any request."""
    database = open_database(config, pooled=pooled)
    try:
        yield database
    finally:
        database.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close)
