"""Start the node: `python run.py` serves the app and runs the forwarder beside it.

`python run.py registry` serves the reference central registry instead.
"""

from __future__ import annotations

import logging
import sys

from waitress import serve

from kiosk.config import ConfigError
from kiosk.db import DamagedDatabase
from kiosk.serving import waitress_options


def node() -> int:
    from kiosk import create_app
    from kiosk.outbox.forwarder import start_in_background

    app = create_app()
    if app.config["FORWARDER"]:
        start_in_background(app)
    host, port = app.config["HOST"], app.config["PORT"]
    print(f"Serving on http://{host}:{port}/ (database: {app.config['DATABASE']})", flush=True)
    serve(app, **waitress_options(app.config))
    return 0


def registry() -> int:
    from kiosk.registry import create_registry_app

    app = create_registry_app()
    host, port = app.config["HOST"], app.config["PORT"]
    print(f"Registry on http://{host}:{port}/ (database: {app.config['DATABASE']})", flush=True)
    serve(app, **waitress_options(app.config, ident="registry"))
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    command = argv[1] if len(argv) > 1 else "node"
    if command not in ("node", "registry"):
        print("usage: python run.py [node|registry]", file=sys.stderr)
        return 2
    try:
        return node() if command == "node" else registry()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    except DamagedDatabase as error:  # no restart can help: a person must restore a backup
        print(f"Database error: {error}", file=sys.stderr)
        return 65  # EX_DATAERR: deploy/kiosk.service's RestartPreventExitStatus


if __name__ == "__main__":
    sys.exit(main(sys.argv))
