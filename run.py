"""Start the node: `python run.py` serves the app with waitress on KIOSK_HOST:KIOSK_PORT."""

from __future__ import annotations

import logging
import sys

from waitress import serve

from kiosk import create_app
from kiosk.config import ConfigError


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app = create_app()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    host, port = app.config["HOST"], app.config["PORT"]
    print(f"Serving on http://{host}:{port}/ (database: {app.config['DATABASE']})", flush=True)
    proxy = {}
    if app.config["TRUSTED_PROXY"]:
        # Behind an HTTPS proxy: take the scheme from it, so cookies are marked Secure.
        proxy = {
            "trusted_proxy": app.config["TRUSTED_PROXY"],
            "trusted_proxy_headers": "x-forwarded-proto",
        }
    serve(app, host=host, port=port, threads=app.config["THREADS"], ident="kiosk", **proxy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
