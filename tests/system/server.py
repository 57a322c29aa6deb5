"""Run the real server (`python run.py`) in a subprocess for system tests."""

from __future__ import annotations

import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python run.py` on 127.0.0.1 with its own instance folder."""

    def __init__(self, instance: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "KIOSK_INSTANCE": str(instance),
            "KIOSK_HOST": "127.0.0.1",
            "KIOSK_PORT": str(self.port),
            "KIOSK_FORWARDER": "off",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "run.py"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a power cut of the process."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


FORWARDER = [sys.executable, "-m", "flask", "--app", "kiosk", "queue", "work"]


def forwarder_env(instance: Path, node_config: dict, url: str) -> dict[str, str]:
    """The environment of `flask queue work` for a test node: its instance, its registry
    (at `url`) and keys, and short backoffs and timeouts, so kills and restarts are quick."""
    return {
        **os.environ,
        "KIOSK_INSTANCE": str(instance),
        "KIOSK_NODE_ID": node_config["NODE_ID"] or "node-test",
        "KIOSK_REGISTRY_URL": url,
        "KIOSK_REGISTRY_TOKEN": node_config["REGISTRY_TOKEN"],
        "KIOSK_REGISTRY_PUBLIC_KEY": node_config["REGISTRY_PUBLIC_KEY"],
        "KIOSK_REGISTRY_SIGNING_KEY": node_config["REGISTRY_SIGNING_KEY"],
        "KIOSK_BACKOFF_BASE": "0.05",
        "KIOSK_BACKOFF_CAP": "0.2",
        "KIOSK_SEND_TIMEOUT": "5",
    }


def start_process(args: list[str], env: dict) -> subprocess.Popen:
    """Start a process from the checkout, its output discarded."""
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for(url: str) -> None:
    """Wait until `url` answers (a server has started)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Accept-Language": "en"}
        )
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
