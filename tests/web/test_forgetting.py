"""What an applicant typed leaves no trace in the database's files after they submit."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from kiosk import db as db_module
from kiosk import drafts, submissions
from tests.forwarding import flat_answers

NAME = "Айгерім".encode()


def test_a_reader_holding_an_old_snapshot_does_not_leave_the_name_in_the_wal(app, db, monkeypatch):
    """A staff page or `flask queue status` reads at the moment of submit: the WAL is
    emptied once it finishes, however short the connection's own busy timeout is.

    `db` stays open throughout, as the forwarder's connection does on a node (the last
    connection to close would empty the WAL anyway)."""
    connect = db_module.connect

    def quick_to_give_up(path, *args, **kwargs):
        database = connect(path, *args, **kwargs)
        database.execute("PRAGMA busy_timeout=50")
        return database

    monkeypatch.setattr(db_module, "connect", quick_to_give_up)
    path = app.config["DATABASE"]
    with app.test_request_context("/"):
        draft = drafts.create()
        draft.answers = flat_answers()
        drafts.save(draft)  # what was typed is in the WAL now
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM drafts").fetchone()  # a snapshot with the draft
        release = threading.Timer(0.5, reader.execute, ["COMMIT"])
        release.start()
        try:
            submissions.submit(draft.id, "kk")
        finally:
            release.join()
            reader.close()
    wal = Path(f"{path}-wal")
    assert NAME not in (wal.read_bytes() if wal.exists() else b"")
    assert NAME not in Path(path).read_bytes()
