"""A real, throwaway PostgreSQL server for the registry's tests, from Debian's packages.

`initdb` makes a cluster in a temporary folder, and `pg_ctl` runs it on 127.0.0.1 and a
Unix socket in that folder, with nothing of the machine's own PostgreSQL used. The server
is started once per test session; every test gets a database of its own, dropped after
it. `make test` installs `postgresql` when it is missing, so these tests never skip.

PostgreSQL refuses to run as root: as root (CI, containers) the cluster belongs to the
`postgres` user the Debian package makes, and its commands run as that user.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

USER = "postgres"  # the cluster's superuser, and as root, the system user it runs as


def binaries() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian keeps one per major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One cluster in its own folder: start, databases, stop (or stop sharply, and again)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="registry-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.bin = binaries()
        self._names = itertools.count(1)
        if os.geteuid() == 0:
            shutil.chown(self.folder, USER, USER)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=trust",  # loopback and a private socket only, in a throwaway folder
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.folder}"
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `immediate` is a crash (no checkpoint, every client cut off)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"registry_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_schema(self, database_url: str) -> str:
        """A new, empty schema in that database; a URL whose connections use it alone.

        Cheaper than a database of its own (no files to copy), and as separate: each
        test's tables, sequences and triggers are in its schema, dropped with it.
        """
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{database_url}?options=-csearch_path%3D{name}"

    def drop_schema(self, url: str) -> None:
        base, _, options = url.partition("?options=-csearch_path%3D")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{options}" CASCADE')

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def wait_until_up(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def postgres_server():
    """A started throwaway server, removed (data and all) afterwards."""
    server = PostgresServer()
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.remove()
