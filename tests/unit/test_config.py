import stat
import subprocess
import sys
from datetime import timedelta

import pytest

from kiosk import config
from kiosk.config import ConfigError, from_environment, secret_key


def test_defaults_run_without_any_configuration(tmp_path):
    settings = from_environment({"KIOSK_INSTANCE": str(tmp_path)})
    assert settings["HOST"] == "127.0.0.1" and settings["PORT"] == 8000
    assert settings["DATABASE"] == str(tmp_path / "kiosk.sqlite3")
    assert settings["CLOSES"].utcoffset() == timedelta(hours=5)  # Asia/Almaty, UTC+5
    assert (settings["CLOSES"].month, settings["CLOSES"].day) == (6, 30)
    assert settings["DOCUMENTS"] is True  # supporting documents, where they are offered
    assert from_environment({"KIOSK_DOCUMENTS": "off"})["DOCUMENTS"] is False


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("KIOSK_PORT", "eighty", "KIOSK_PORT must be a whole number"),
        ("KIOSK_THREADS", "0", "KIOSK_THREADS must be at least 1"),
        ("KIOSK_CLOSES", "30/06/2027", "KIOSK_CLOSES must be an ISO date-time"),
        ("KIOSK_CLOSES", "2020-01-01", "KIOSK_CLOSES must be later than KIOSK_OPENS"),
        ("KIOSK_DOCUMENTS", "maybe", "KIOSK_DOCUMENTS must be on or off"),
    ],
)
def test_bad_values_are_named(name, value, says):
    with pytest.raises(ConfigError, match=says):
        from_environment({name: value})


def test_window_with_explicit_offset_is_kept():
    settings = from_environment({"KIOSK_CLOSES": "2027-06-30T18:59:59+00:00"})
    assert settings["CLOSES"].utcoffset() == timedelta(0)


def test_secret_key_is_made_once_private_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(tmp_path)
    assert len(first) == 64 and secret_key(tmp_path) == first
    mode = (tmp_path / "secret_key").stat().st_mode
    assert not mode & (stat.S_IRGRP | stat.S_IROTH)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert secret_key(tmp_path) == "from-env"


def test_run_py_stops_with_a_clear_message_on_bad_configuration(tmp_path):
    result = subprocess.run(
        [sys.executable, "run.py"],
        cwd=config.ROOT,
        env={"KIOSK_PORT": "eighty", "KIOSK_INSTANCE": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "KIOSK_PORT must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_node_behind_a_proxy_needs_its_public_url():
    with pytest.raises(ConfigError, match="KIOSK_PUBLIC_URL must be set behind a proxy"):
        from_environment({"KIOSK_TRUSTED_PROXY": "127.0.0.1"})
    settings = from_environment(
        {"KIOSK_TRUSTED_PROXY": "127.0.0.1", "KIOSK_PUBLIC_URL": "https://apply.example.kz/"}
    )
    assert settings["PUBLIC_URL"] == "https://apply.example.kz"


@pytest.mark.parametrize(
    "value",
    [
        "apply.example.kz",
        "ftp://apply.example.kz",
        "https://apply.example.kz/apply",
        "https://",
        "https://x@apply.example.kz",
        "https://apply.example.kz?q=1",
        "javascript:alert(1)",
    ],
)
def test_public_url_must_be_just_http_or_https_and_a_host(value):
    with pytest.raises(ConfigError, match="KIOSK_PUBLIC_URL must be like https://"):
        from_environment({"KIOSK_PUBLIC_URL": value})


@pytest.mark.parametrize("value", ["https://apply.example.kz", "http://127.0.0.1:8000"])
def test_public_url_may_have_a_port(value):
    assert from_environment({"KIOSK_PUBLIC_URL": value})["PUBLIC_URL"] == value


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "No such file"),  # a path to nothing
        (b"", "not a readable PEM certificate file"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "PEM"),
        (bytes(range(256)) * 40, "not a readable PEM certificate file"),
    ],
    ids=["missing", "empty", "damaged", "binary"],
)
def test_a_registry_ca_that_cannot_be_read_stops_the_start(tmp_path, content, says):
    from kiosk import create_app

    ca = tmp_path / "registry-ca.pem"
    if content is not None:
        ca.write_bytes(content)
    with pytest.raises(ConfigError, match=says):
        create_app(
            {
                "INSTANCE": tmp_path,
                "DATABASE": str(tmp_path / "kiosk.sqlite3"),
                "SECRET_KEY": "x",
                "FORWARDER": False,
                "REGISTRY_CA": str(ca),
            }
        )
