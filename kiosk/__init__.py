"""The application front end for "Best Social Projects Implemented in Kazakhstan"."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import config as settings

ROOT = settings.ROOT


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` on top (tests use it)."""
    values = settings.from_environment()
    values.update(config or {})
    instance = Path(values["INSTANCE"])
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key(instance),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="kiosk_session",
        MAX_CONTENT_LENGTH=1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
    )
    app.config.update(values)
    from .documents.uploads import InMemoryRequest

    app.request_class = InMemoryRequest  # uploaded files never spool to a temporary file
    # A form token lives as long as the draft it protects: slow typists never lose a page.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", app.config["DRAFT_HOURS"] * 3600)

    from . import (
        assets,
        backup,
        db,
        drafts,
        i18n,
        kiosk_mode,
        limits,
        node,
        preferences,
        saved,
        schema,
        security,
        speech,
    )

    assets.init_app(app)
    db.init_app(app)
    schema.init_app(app)
    node.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    limits.init_app(app)
    app.cli.add_command(drafts.expire_drafts_command)
    app.cli.add_command(saved.expire_saved_command)
    app.cli.add_command(backup.backup_command)

    from .audit import audit_cli
    from .outbox.cli import queue_cli
    from .registry.cli import registry_cli

    app.cli.add_command(queue_cli)
    app.cli.add_command(registry_cli)
    app.cli.add_command(audit_cli)

    from . import health
    from .journey import documents, saving, views

    app.register_blueprint(views.bp)
    app.register_blueprint(saving.bp)
    app.register_blueprint(documents.bp)
    preferences.init_app(app)
    kiosk_mode.init_app(app)

    from . import staff

    staff.init_app(app)
    speech.init_app(app)
    app.register_blueprint(health.bp)
    from . import metrics

    metrics.init_app(app)
    return app
