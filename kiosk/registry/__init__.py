"""The reference central registry: the Flask app at the far end of every node's queue.

`python run.py registry` runs it as a one-command demo on SQLite; on Linux it runs under
gunicorn with N workers (deploy/gunicorn.conf.py), on PostgreSQL when
REGISTRY_DATABASE_URL names one (database.py; the schema is migrations.py). The node's
forwarder knows only its URL. It shares with the node the payload schema, the envelope
crypto, the competition's labels and the catalogs (for its pages and exports), never the
node's database.

`api` takes applications; `saved_api` keeps saved applications' ciphertexts for nodes to
pass between them; `files_api` takes supporting documents by tus uploads;
`reports_api` keeps each node's health report; `admin_views` (with `admin_nodes`) are the
administrators' pages; `metrics` serves Prometheus; the commands (`flask registry …`) are
in `cli` and the modules it registers.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from ..config import ROOT, ConfigError

DEFAULTS = {
    "REGISTRY_HOST": "127.0.0.1",
    "REGISTRY_PORT": "8100",
    "REGISTRY_INSTANCE": str(ROOT / "instance" / "registry"),
    "REGISTRY_DATABASE_URL": "",  # postgresql://…; empty: SQLite in the instance folder
    "REGISTRY_LIMIT_SAVED_MISSES": "120 per 15 minutes",  # saved look-ups finding nothing, per node
    "REGISTRY_METRICS_TOKEN": "",  # empty: GET /metrics from this host only (docs/metrics.md)
    "REGISTRY_SECRET_KEY": "",  # signs the admin pages' session; empty: kept in the instance folder
    "REGISTRY_TRUSTED_PROXY": "",  # nginx's address (127.0.0.1) whose X-Forwarded-* count
}


def settings(environ: dict[str, str] | None = None) -> dict:
    """Registry settings from REGISTRY_* environment variables."""
    env = {**DEFAULTS, **{k: v for k, v in (environ or os.environ).items() if k in DEFAULTS}}
    try:
        port = int(env["REGISTRY_PORT"])
    except ValueError:
        message = f"REGISTRY_PORT must be a whole number, not {env['REGISTRY_PORT']!r}"
        raise ConfigError(message) from None
    instance = Path(env["REGISTRY_INSTANCE"])
    url = env["REGISTRY_DATABASE_URL"].strip()
    if url and not url.startswith(("postgresql://", "postgres://")):
        message = "REGISTRY_DATABASE_URL must be a postgresql:// URL, or empty for SQLite"
        raise ConfigError(message)
    return {
        "HOST": env["REGISTRY_HOST"],
        "PORT": port,
        "INSTANCE": instance,
        "DATABASE": str(instance / "registry.sqlite3"),
        "DATABASE_URL": url,
        "PRIVATE_KEY": instance / "registry_key",
        "RECEIPT_KEY": instance / "receipt_key",
        "LIMIT_SAVED_MISSES": env["REGISTRY_LIMIT_SAVED_MISSES"],
        "METRICS_TOKEN": env["REGISTRY_METRICS_TOKEN"],
        "SECRET_KEY": env["REGISTRY_SECRET_KEY"],  # empty: deployment.kept_secret_key
        "TRUSTED_PROXY": env["REGISTRY_TRUSTED_PROXY"].strip(),  # deployment.FromTrustedProxy
    }


def create_registry_app(config: dict | None = None) -> Flask:
    """The registry app: settings from the environment, then `config` on top."""
    values = settings()
    values.update(config or {})
    app = Flask(__name__, instance_path=str(Path(values["INSTANCE"]).resolve()))
    app.config.update(values)

    from . import api, files_api, reports_api, saved_api, store

    # The largest body any route takes, a tus chunk; each route bounds its own (an envelope
    # 1 MB, a saved application 64 KB). waitress takes its limits from this (kiosk/serving.py).
    app.config["MAX_CONTENT_LENGTH"] = files_api.MAX_CHUNK

    store.init_app(app)
    app.register_blueprint(api.bp)
    saved_api.init_app(app)
    files_api.init_app(app)
    app.register_blueprint(reports_api.bp)
    from .. import i18n
    from . import admin_views

    # The administrators' pages, in kk, ru and en as on the node (Flask-Babel first).
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    i18n.init_app(app)
    admin_views.init_app(app)
    from . import metrics

    metrics.init_app(app)
    return app
