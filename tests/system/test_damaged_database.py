"""A database that is damaged, or not a database at all, stops the start with one clear line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from kiosk import create_app
from kiosk.db import DamagedDatabase
from tests.keys import NODE_KEYS
from tests.system.server import ROOT, free_port

DAMAGED_EXIT = 65  # RestartPreventExitStatus in deploy/kiosk.service


def test_run_py_on_a_file_that_is_not_a_database_says_so_once(tmp_path):
    (tmp_path / "kiosk.sqlite3").write_bytes(
        b"this is not a database, it is a shopping list\n" * 99
    )
    env = {
        **os.environ,
        "KIOSK_INSTANCE": str(tmp_path),
        "KIOSK_HOST": "127.0.0.1",
        "KIOSK_PORT": str(free_port()),
        "KIOSK_FORWARDER": "off",
    }
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == DAMAGED_EXIT
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "kiosk.sqlite3" in lines[0] and "not a usable SQLite database" in lines[0]
    assert "backup" in lines[0]


def test_a_database_with_damaged_pages_fails_its_check_at_start(tmp_path):
    path = tmp_path / "kiosk.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x TEXT)")
    db.execute("CREATE INDEX t_x ON t (x)")
    db.executemany("INSERT INTO t VALUES (?)", [(f"row {n:06d}",) for n in range(5000)])
    db.commit()
    db.close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 5 : page * 7] = b"\x5a" * (page * 2)  # two pages in the middle overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedDatabase, match="restore|backup"):
        create_app({"INSTANCE": tmp_path, "DATABASE": str(path), **NODE_KEYS})
