"""What the registry needs from where it runs: a session key, and the proxy in front of it.

The session key is made once and kept in the instance folder when REGISTRY_SECRET_KEY is
unset; behind the proxy named in REGISTRY_TRUSTED_PROXY, each request carries the client's
own address (FromTrustedProxy), for the sign-in limit, the audit log and the whole API.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from werkzeug.middleware.proxy_fix import ProxyFix


def kept_secret_key(instance: Path) -> str:
    """The registry's session key: made once and kept in the instance folder (mode 600).

    Written to a temporary file and linked into place, so that several server processes
    starting at once (gunicorn's workers) all end up reading the one key that won.
    """
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key.")  # mode 600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: its key is the one
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


class FromTrustedProxy:
    """The client's address, scheme, host and port from the one proxy trusted (TRUSTED_PROXY).

    Behind nginx every request comes from nginx's address, so the sign-in limit would count
    every administrator's attempts together, and the audit log would name nginx. Waitress
    (`python run.py registry`) reads the proxy's X-Forwarded-* itself (kiosk/serving.py);
    gunicorn does not, so the app does: only for a request from that address (or from
    anyone with "*", as waitress reads it), and one hop only, the value nginx set last.
    A request from anywhere else keeps its own address, whatever it claims. Done twice
    (under waitress) it changes nothing: the values are already the ones it would set.
    """

    def __init__(self, app, proxy: str) -> None:
        self.app = app
        self.proxy = proxy
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def __call__(self, environ, start_response):
        if self.proxy == "*" or environ.get("REMOTE_ADDR") == self.proxy:
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
