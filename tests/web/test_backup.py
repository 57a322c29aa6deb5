"""`flask backup DIR`: a verified second copy of the outbox, without the drafts."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from kiosk import drafts
from kiosk.db import connect
from tests.forwarding import flat_answers, queue_applications


def _backup(app, folder: Path, *args: str):
    return app.test_cli_runner().invoke(args=["backup", str(folder), *args])


def test_backup_copies_the_outbox_verified_and_private(app, tmp_path):
    ids = queue_applications(app, 2)
    with app.test_request_context("/"):
        draft = drafts.create()  # someone is typing an application right now
        draft.answers = flat_answers()
        drafts.save(draft)
    result = _backup(app, tmp_path / "backups")
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path.parent == tmp_path / "backups" and path.name.startswith("kiosk-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    copy = sqlite3.connect(path)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sorted(row[0] for row in copy.execute("SELECT submission_id FROM outbox")) == sorted(ids)
    assert copy.execute("SELECT COUNT(*) FROM submissions").fetchone() == (2,)
    assert copy.execute("SELECT COUNT(*) FROM outbox WHERE envelope IS NOT NULL").fetchone() == (2,)
    assert copy.execute("SELECT COUNT(*) FROM drafts").fetchone() == (0,)
    copy.close()
    assert "Айгерім".encode() not in path.read_bytes()  # the draft in progress is not in it
    assert not Path(f"{path}-wal").exists()  # one self-contained file


def test_a_restored_backup_is_a_working_database(app, make_app, tmp_path):
    queue_applications(app, 1)
    path = Path(_backup(app, tmp_path / "backups").output.strip())
    restored = make_app(INSTANCE=tmp_path / "restored", DATABASE=str(path))
    db = connect(restored.config["DATABASE"])
    assert db["outbox"].count == 1
    db.close()


def test_a_backup_that_cannot_be_written_fails_clearly(app, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = _backup(app, a_file / "backups")  # a folder that cannot be made
    assert result.exit_code != 0 and "backup failed" in result.output
    assert "Traceback" not in result.output


def test_a_copy_that_does_not_verify_is_removed_and_fails(app, tmp_path, monkeypatch):
    from kiosk import backup

    queue_applications(app, 1)
    monkeypatch.setattr(backup, "COUNTED", ("outbox", "submissions", "drafts"))
    # drafts are left out of the copy, so counting them too makes the copy differ
    with app.test_request_context("/"):
        drafts.create()
    result = _backup(app, tmp_path / "backups")
    assert result.exit_code != 0 and "backup failed" in result.output and "rows" in result.output
    assert list((tmp_path / "backups").iterdir()) == []


def test_old_backups_beyond_keep_are_removed(app, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (folder / f"kiosk-{stamp}.sqlite3").write_text("")
    result = _backup(app, folder, "--keep", "2")
    assert result.exit_code == 0
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 2 and names[0] == "kiosk-20260103T000000Z.sqlite3"
