"""kiosk/saved.py: what a save keeps, what a resume opens, and what nobody can read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kiosk import drafts, return_codes, saved
from kiosk.db import get_db
from tests.helpers import VALID_IIN

NAME = "Әлия Нұрланқызы Сәрсенова"


@pytest.fixture
def ctx(app):
    with app.test_request_context("/"):
        yield app


def _draft() -> drafts.Draft:
    draft = drafts.create()
    draft.answers.update({"applicant_type": "individual", "full_name": NAME, "iin": VALID_IIN})
    drafts.save(draft)
    return draft


def test_save_deletes_the_draft_and_resume_brings_back_its_answers_and_submission_id(ctx):
    draft = _draft()
    code, until = saved.save(draft, "ru")
    assert drafts.load(draft.id) is None
    resumed, content = saved.resume(code, saved.find(code))
    assert resumed.id != draft.id
    assert resumed.answers == draft.answers and resumed.submission_id == draft.submission_id
    assert resumed.return_code == code and content.locale == "ru"
    assert until <= datetime.now(UTC) + timedelta(days=30, minutes=1)


def test_saving_again_keeps_the_same_code(ctx):
    code, _ = saved.save(_draft(), "kk")
    resumed, _ = saved.resume(code, saved.find(code))
    resumed.answers["full_name"] = "Бекзат Ержанұлы"
    drafts.save(resumed)
    again, _ = saved.save(drafts.load(resumed.id), "kk")
    assert again == code
    reopened, _ = saved.resume(code, saved.find(code))
    assert reopened.answers["full_name"] == "Бекзат Ержанұлы"


def test_a_second_resume_ends_the_first_draft_and_says_so_once(ctx):
    code, _ = saved.save(_draft(), "kk")
    first, _ = saved.resume(code, saved.find(code))
    second, _ = saved.resume(code, saved.find(code))
    assert drafts.load(first.id) is None and drafts.load(second.id) is not None
    assert saved.why_ended(first.id) == saved.OPENED
    assert saved.why_ended(first.id) is None
    assert saved.why_ended(second.id) is None


def test_another_code_does_not_open_the_blob(ctx):
    code, _ = saved.save(_draft(), "kk")
    blob = saved.find(code)
    with pytest.raises(saved.WrongCode):
        saved.open_blob(return_codes.new_code(), blob)
    assert saved.find(return_codes.new_code()) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob.update(ciphertext=blob["ciphertext"][:-4] + "AAAA"),
        lambda blob: blob.update(nonce="!!"),
        lambda blob: blob["kdf"].update(n=2**30),  # a blob asking for gigabytes
        lambda blob: blob["kdf"].update(n=3),
        lambda blob: blob.update(format=2),
        lambda blob: blob.pop("kdf"),
        lambda blob: blob.update(kdf="scrypt"),
    ],
)
def test_a_damaged_or_hostile_blob_is_a_wrong_code_not_a_crash(ctx, damage):
    code, _ = saved.save(_draft(), "kk")
    blob = saved.find(code)
    damage(blob)
    with pytest.raises(saved.WrongCode):
        saved.open_blob(code, blob)


def test_a_blob_moved_to_another_lookup_id_does_not_open(ctx):
    """The lookup id is associated data: a registry cannot swap two people's blobs."""
    code, _ = saved.save(_draft(), "kk")
    other, _ = saved.save(_draft(), "kk")
    with pytest.raises(saved.WrongCode):
        saved.open_blob(other, saved.find(code))


def test_forgetting_deletes_the_saved_copy_and_queues_its_deletion(ctx):
    code, _ = saved.save(_draft(), "kk")
    db = get_db()
    saved.forget(code, db)
    assert saved.find(code) is None
    lookup = return_codes.lookup_id(code)
    row = db.execute("SELECT action, blob FROM deposits WHERE lookup_id = ?", [lookup])
    assert row.fetchone() == ("delete", None)


def test_expired_saved_applications_are_deleted(ctx):
    code, _ = saved.save(_draft(), "kk")
    get_db().execute(
        "UPDATE saved SET expires_at = ?", [(datetime.now(UTC) - timedelta(seconds=1)).isoformat()]
    )
    assert saved.find(code) is None
    assert saved.delete_expired() == 1
    assert get_db()["saved"].count == 0


def test_kept_no_longer_than_the_competition(make_app):
    closes = datetime.now(UTC) + timedelta(days=3)
    app = make_app(CLOSES=closes)
    with app.test_request_context("/"):
        _code, until = saved.save(_draft(), "kk")
    assert until == closes


def test_the_database_holds_no_answer_and_no_code_after_a_save(app, ctx):
    code, _ = saved.save(_draft(), "kk")
    get_db().close()
    instance = app.config["INSTANCE"]
    for path in instance.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (NAME, VALID_IIN, code, code.replace("-", "")):
                assert secret.encode() not in data, (path.name, secret)
            assert json.dumps(NAME).encode() not in data
