"""A kiosk or a public website never queues names and IINs readable: it needs the registry keys."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kiosk import create_app
from kiosk.config import ConfigError
from tests.keys import NODE_KEYS
from tests.system.server import ROOT


def _bare(tmp_path, **config) -> dict:
    return {"INSTANCE": tmp_path, "DATABASE": str(tmp_path / "k.sqlite3"), **config}


@pytest.mark.parametrize(
    "public",
    [{"KIOSK_MODE": True}, {"TRUSTED_PROXY": "127.0.0.1", "PUBLIC_URL": "https://apply.example"}],
    ids=["kiosk", "behind a proxy"],
)
@pytest.mark.parametrize("missing", ["REGISTRY_PUBLIC_KEY", "REGISTRY_SIGNING_KEY"])
def test_a_public_node_without_a_registry_key_refuses_to_start(tmp_path, public, missing):
    keys = {name: value for name, value in NODE_KEYS.items() if name != missing}
    with pytest.raises(ConfigError, match=f"KIOSK_{missing} must be set"):
        create_app(_bare(tmp_path, **public, **keys))


def test_a_public_node_with_both_keys_starts(tmp_path):
    app = create_app(_bare(tmp_path, KIOSK_MODE=True, **NODE_KEYS))
    assert app.extensions["node"].registry_key is not None


def test_a_developer_machine_still_starts_without_keys(tmp_path, caplog):
    app = create_app(_bare(tmp_path))
    assert app.extensions["node"].registry_key is None
    assert "developer's machine only" in caplog.text


def test_run_py_says_which_variable_to_set(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "KIOSK_INSTANCE": str(tmp_path),
        "KIOSK_MODE": "on",
        "KIOSK_FORWARDER": "off",
    }
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "KIOSK_REGISTRY_PUBLIC_KEY must be set" in done.stderr
    assert "Traceback" not in done.stderr
