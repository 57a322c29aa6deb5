"""A real nginx with a self-signed certificate in front of the app, as a web node is deployed.

deploy/nginx.conf is rendered exactly as README.md's "Deploy a web node" says (its
{{placeholders}} filled in), wrapped in the `http {}` block that Debian's own
/etc/nginx/nginx.conf would give it, and run by Debian's /usr/sbin/nginx on
127.0.0.1 with everything (temporary files, logs, pid) in a temporary folder.
The node behind it is served by waitress with kiosk.serving's options, the
ones run.py uses, and configured like a deployed web node: KIOSK_TRUSTED_PROXY
127.0.0.1 and KIOSK_PUBLIC_URL the HTTPS address.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from waitress.server import create_server

from kiosk.serving import waitress_options

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx.conf"
REGISTRY_SITE = ROOT / "deploy" / "nginx-registry.conf"
LOCALHOST = "127.0.0.1"

# What Debian's /etc/nginx/nginx.conf puts around a site, with every path in `folder`.
WRAPPER = """\
{user}
worker_processes 1;
events {{
    worker_connections 1024;
}}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


@functools.cache
def _certificate() -> tuple[bytes, bytes]:
    """One self-signed certificate for 127.0.0.1 (CN and SAN) per test run: (cert, key) as PEM.

    Every nginx of the run shows it, so one client context trusts them all.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOCALHOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOCALHOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), private


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write the run's certificate and key into `folder`; (cert path, key path)."""
    cert_pem, key_pem = _certificate()
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    key.chmod(0o600)
    return cert, key


def ssl_context() -> ssl.SSLContext:
    """A client context that trusts the tests' nginx (and nothing else)."""
    return ssl.create_default_context(cadata=_certificate()[0].decode())


def render_site(values: dict[str, str], site: Path = SITE) -> str:
    """A site (deploy/nginx.conf, or the registry's) with each {{name}} replaced, as
    README.md's `sed` line does."""
    text = site.read_text(encoding="utf8")
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    left = [line for line in lines if "{{" in line]
    assert not left, f"placeholders of {site.name} left unfilled: {left}"
    return text


def site_values(http_port: int, https_port: int, upstream: str, cert: Path, key: Path) -> dict:
    """What the tests fill deploy/nginx.conf's placeholders with: everything on 127.0.0.1."""
    return {
        "http_listen": f"{LOCALHOST}:{http_port}",
        "https_listen": f"{LOCALHOST}:{https_port}",
        "server_name": LOCALHOST,
        "public_url": f"https://{LOCALHOST}:{https_port}",
        "upstream": urlsplit(upstream).netloc,
        "cert": str(cert),
        "key": str(key),
    }


@dataclass
class Nginx:
    """A running nginx: its HTTPS and plain HTTP addresses, the node's own address behind it,
    and the certificate to trust."""

    url: str
    http_url: str
    upstream: str
    cert: Path
    folder: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this nginx's certificate (and nothing else)."""
        return ssl_context()

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_until_listening(port: int, process: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "error.log").read_text(errors="replace")
            raise RuntimeError(f"nginx stopped at start: {log}")
        try:
            socket.create_connection((LOCALHOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


def _stop(process: subprocess.Popen) -> None:
    """SIGQUIT, nginx's graceful stop; SIGTERM and then SIGKILL if it hangs."""
    for sig, wait in ((signal.SIGQUIT, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def nginx(upstream: str, https_port: int | None = None, site: Path = SITE) -> Iterator[Nginx]:
    """Debian's nginx on 127.0.0.1 with deploy/nginx.conf (or `site`), proxying to `upstream`
    (a URL).

    `https_port` is chosen beforehand when the node must know its public address.
    """
    folder = Path(tempfile.mkdtemp(prefix="kiosk-nginx-"))
    https_port = https_port or free_port()
    http_port = free_port()
    process = None
    try:
        cert, key = make_certificate(folder)
        text = render_site(site_values(http_port, https_port, upstream, cert, key), site)
        process = _start(folder, text)
        _wait_until_listening(https_port, process, folder)
        yield Nginx(
            url=f"https://{LOCALHOST}:{https_port}",
            http_url=f"http://{LOCALHOST}:{http_port}",
            upstream=upstream,
            cert=cert,
            folder=folder,
        )
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _start(folder: Path, site: str) -> subprocess.Popen:
    """Write the site and its `http {}` wrapper into `folder`, and start nginx on them."""
    (folder / "site.conf").write_text(site, encoding="utf8")
    # As root, nginx's workers would run as nobody, who cannot enter this private folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(WRAPPER.format(user=user, folder=folder), encoding="utf8")
    command = [
        NGINX,
        "-p",
        str(folder),
        "-c",
        str(folder / "nginx.conf"),
        "-g",
        f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log warn;",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def waitress(app: Flask) -> Iterator[str]:
    """The app served by waitress with run.py's options, on a free port; yields its URL."""
    options = waitress_options({**app.config, "HOST": LOCALHOST, "PORT": 0})
    server = create_server(app, **options)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://{LOCALHOST}:{server.effective_port}"
    finally:
        server.close()


def web_node_config(https_port: int) -> dict:
    """What a web node behind nginx is configured with (README.md, "Deploy a web node")."""
    return {"TRUSTED_PROXY": LOCALHOST, "PUBLIC_URL": f"https://{LOCALHOST}:{https_port}"}


@contextmanager
def behind_nginx(
    serve: Callable[..., AbstractContextManager[tuple[Flask, str]]], **config
) -> Iterator[tuple[Flask, Nginx]]:
    """Start a node with `serve(**config)`, configured as a web node, with nginx in front.

    `serve` yields (app, the node's own URL); this yields (app, the running nginx).
    """
    https_port = free_port()
    with (
        serve(**web_node_config(https_port), **config) as (app, upstream),
        nginx(upstream, https_port=https_port) as front,
    ):
        yield app, front
