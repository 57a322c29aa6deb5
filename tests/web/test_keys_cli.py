"""`flask node keygen`, `flask registry keygen|add-node`: what operators copy between machines."""

from __future__ import annotations

import re

from kiosk import envelope


def test_node_keygen_prints_the_id_and_a_stable_public_key(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["node", "keygen"]).output
    again = runner.invoke(args=["node", "keygen"]).output
    key = re.search(r"public key: (\S+)", first).group(1)
    assert envelope.node_public_key(key)  # a valid Ed25519 public key
    assert key in again  # not replaced without --force
    replaced = runner.invoke(args=["node", "keygen", "--force"]).output
    assert key not in replaced
    assert re.search(r"node id:\s+node-[0-9a-f]{8}", first)


def test_registry_keygen_and_add_node(app, tmp_path):
    runner = app.test_cli_runner()
    env = {"REGISTRY_INSTANCE": str(tmp_path / "registry")}
    out = runner.invoke(args=["registry", "keygen"], env=env).output
    public = re.search(r"KIOSK_REGISTRY_PUBLIC_KEY=(\S+)", out).group(1)
    assert envelope.registry_public_key(public)
    assert runner.invoke(args=["registry", "keygen"], env=env).output == out  # kept
    node_key = runner.invoke(args=["node", "keygen"]).output.split("public key: ")[1].split()[0]
    out = runner.invoke(args=["registry", "add-node", "node-1", node_key], env=env).output
    assert re.search(r"KIOSK_REGISTRY_TOKEN=\S{40,}", out)
    bad = runner.invoke(args=["registry", "add-node", "node-2", "not-a-key"], env=env)
    assert bad.exit_code != 0 and "not a base64 Ed25519 public key" in bad.output


def test_a_bad_registry_public_key_stops_the_start(tmp_path):
    import pytest

    from kiosk import create_app
    from kiosk.config import ConfigError

    with pytest.raises(ConfigError, match="KIOSK_REGISTRY_PUBLIC_KEY"):
        create_app(
            {"INSTANCE": tmp_path, "DATABASE": str(tmp_path / "k"), "REGISTRY_PUBLIC_KEY": "x"}
        )
