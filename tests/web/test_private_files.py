"""The node's files hold personal data and keys: no other local user may read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.db import connect
from tests.forwarding import make_registry, queue_applications
from tests.keys import NODE_KEYS


@pytest.fixture
def umask_022():
    """The usual umask of a login shell: new files readable by everyone unless made otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_instance_folder_database_and_keys_are_owner_only(tmp_path, umask_022, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)  # the kept secret key file is made
    instance = tmp_path / "instance"
    app = create_app(
        {"INSTANCE": instance, "DATABASE": str(instance / "kiosk.sqlite3"), **NODE_KEYS}
    )
    held = connect(app.config["DATABASE"])  # as the forwarder does: the -wal and -shm stay
    try:
        queue_applications(app, 1)
        assert _mode(instance) == 0o700
        for name in ("kiosk.sqlite3", "kiosk.sqlite3-wal", "kiosk.sqlite3-shm"):
            assert _mode(instance / name) == 0o600, name
        for name in ("node_key", "node_id", "secret_key"):
            assert _mode(instance / name) == 0o600, name
    finally:
        held.close()


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path, umask_022):
    instance = tmp_path / "instance"
    instance.mkdir()
    database = instance / "kiosk.sqlite3"
    connect(database).close()
    database.chmod(0o644)  # as an older version of the node left it
    create_app({"INSTANCE": instance, "DATABASE": str(database), **NODE_KEYS})
    assert _mode(database) == 0o600


def test_the_registry_folder_and_keys_are_owner_only(tmp_path, umask_022):
    folder = tmp_path / "registry"
    make_registry(folder)
    assert _mode(folder) == 0o700
    for name in ("registry.sqlite3", "registry_key", "receipt_key"):
        assert _mode(folder / name) == 0o600, name
