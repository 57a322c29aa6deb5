"""`python run.py registry` and `python run.py` (web server + forwarder), as deployed."""

from __future__ import annotations

import os
import re
import signal
import sys
import time

from click.testing import CliRunner

from kiosk.registry.cli import registry_cli
from tests.helpers import answers_for, token
from tests.system.server import Browser, Server, free_port, start_process, wait_for


def _keys(tmp_path) -> dict:
    """Make the registry key and register the node, as an operator would with the CLI."""
    env = {"REGISTRY_INSTANCE": str(tmp_path / "registry")}
    runner = CliRunner()
    out = runner.invoke(registry_cli, ["keygen"], env=env).output
    public = re.search(r"KIOSK_REGISTRY_PUBLIC_KEY=(\S+)", out).group(1)
    signing = re.search(r"KIOSK_REGISTRY_SIGNING_KEY=(\S+)", out).group(1)
    from kiosk import envelope

    node_key = envelope.node_signing_key(tmp_path / "node" / "node_key")
    out = runner.invoke(
        registry_cli, ["add-node", "node-e2e", envelope.public_text(node_key)], env=env
    ).output
    return {
        "KIOSK_REGISTRY_PUBLIC_KEY": public,
        "KIOSK_REGISTRY_SIGNING_KEY": signing,
        "KIOSK_REGISTRY_TOKEN": re.search(r"KIOSK_REGISTRY_TOKEN=(\S+)", out).group(1),
        "KIOSK_NODE_ID": "node-e2e",
    }


def test_an_application_made_on_the_node_reaches_the_registry(tmp_path):
    registry_port = free_port()
    keys = _keys(tmp_path)
    registry = start_process(
        [sys.executable, "run.py", "registry"],
        {
            **os.environ,
            "REGISTRY_INSTANCE": str(tmp_path / "registry"),
            "REGISTRY_PORT": str(registry_port),
        },
    )
    node = Server(
        tmp_path / "node",
        KIOSK_FORWARDER="on",
        KIOSK_REGISTRY_URL=f"http://127.0.0.1:{registry_port}",
        **keys,
    )
    try:
        wait_for(f"http://127.0.0.1:{registry_port}/healthz")
        node.start()
        browser = Browser(node.url)
        for slug, data in answers_for("ngo"):
            _status, _headers, page = browser.request(f"/apply/{slug}")
            browser.request(f"/apply/{slug}", {**data, "csrf_token": token(page)})
        _status, _headers, page = browser.request("/apply/declaration")
        status, _headers, _page = browser.request(
            "/apply/declaration", {"consent": "y", "csrf_token": token(page)}
        )
        assert status == 303
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _status, _headers, page = browser.request("/apply/confirmation")
            if "Received by the central registry on" in page:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the forwarder beside the web server did not deliver")
        _status, _headers, health = browser.request("/healthz")
        assert '"queued":0' in health.replace(" ", "")
    finally:
        node.kill()
        registry.send_signal(signal.SIGKILL)
        registry.wait(10)
