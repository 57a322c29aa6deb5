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
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app, g

from .. import db as sqlite_db


class Unavailable(Exception):
    """The database cannot be reached or cannot write now; the request may be tried again."""


class BadText(ValueError):
    """A text holds what no backend should store: a NUL, or half of a UTF-16 pair.

    PostgreSQL cannot store a NUL in text at all, and neither backend can encode a lone
    surrogate. Both backends refuse them alike, before the statement, so that the
    registry answers the same 400 on either (never a 500 on one and a row on the other).
    """


def _checked(params: Sequence[Any]) -> tuple[Any, ...]:
    for value in params:
        if isinstance(value, str):
            if "\x00" in value:
                raise BadText("text may not contain NUL characters")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadText("text must be valid Unicode (no lone surrogates)") from None
    return tuple(params)


@dataclass
class Result:
    """A statement's rows, read to the end while errors can still be told apart.

    Both backends' cursors are read out at once: a RETURNING statement on SQLite
    commits only once it has been read to the end, and a lock or a full disk met while
    reading is then an Unavailable like any other, not an error in the caller's loop.
    """

    all_rows: list[Sequence[Any]]
    rowcount: int
    names: list[str]

    def fetchone(self) -> Sequence[Any] | None:
        return self.all_rows[0] if self.all_rows else None

    def fetchall(self) -> list[Sequence[Any]]:
        return self.all_rows

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return iter(self.all_rows)


class Database(Protocol):
    """What every store is written against."""

    dialect: str  # "sqlite" or "postgresql": only migrations.py should need it

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result: ...

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def transaction(self, lock: str | None = None) -> Any: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """The embedded backend: the node's own connection settings (kiosk/db.py)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        try:
            self.conn = sqlite_db.connect(path).conn
        except sqlite3.OperationalError as error:
            raise _passing_or(error) from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        try:
            cursor = self.conn.execute(sql, _checked(params))
            rows = cursor.fetchall()
        except sqlite3.OperationalError as error:
            raise _passing_or(error) from error
        names = [column[0] for column in cursor.description or ()]
        return Result(rows, cursor.rowcount, names)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        result = self.execute(sql, params)
        return [dict(zip(result.names, row, strict=True)) for row in result]

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


def _passing_or(error: sqlite3.OperationalError) -> Exception:
    """Unavailable for a lock held too long or a full disk, which pass; else the error itself."""
    text = str(error).lower()
    passing = ("locked", "busy", "full", "disk i/o", "unable to open")
    return Unavailable(str(error)) if any(word in text for word in passing) else error


class PostgresDatabase:
    """One pooled PostgreSQL connection, in autocommit, lent for one request or command."""

    dialect = "postgresql"

    def __init__(self, conn: Any, release: Any) -> None:
        self.conn = conn
        self._release = release  # gives the connection back to its pool, or closes it

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        import psycopg

        try:
            cursor = self.conn.execute(_pyformat(sql), _checked(params))
            rows = cursor.fetchall() if cursor.description is not None else []
        except psycopg.OperationalError as error:
            raise Unavailable(str(error)) from error
        names = [column.name for column in cursor.description or ()]
        return Result(rows, cursor.rowcount, names)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        result = self.execute(sql, params)
        return [dict(zip(result.names, row, strict=True)) for row in result]

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
        try:
            return PostgresDatabase(pool.getconn(), pool.putconn)
        except PoolTimeout:
            # The pool reconnects in the background with a growing backoff: after a long
            # outage it can lag the server's return by as long again. Try once directly.
            conn = psycopg.connect(url, autocommit=True, connect_timeout=2)
            return PostgresDatabase(conn, _close_connection)
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
