"""Every table the node keeps, created in one place on start.

Each module owns its tables and the function that creates them; this module only
lists those functions, in the order their foreign keys need, so that nothing low
(the database module) has to import what is built on top of it.
"""

from __future__ import annotations

import click
import sqlite_utils
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import audit, db, deposits, saved
from .documents import store as documents
from .staff import accounts

VERSION = 1
CREATORS = (
    db.create_schema,
    accounts.create_schema,
    audit.create_schema,
    saved.create_schema,
    deposits.create_schema,
    documents.create_schema,  # after drafts and saved: its triggers watch both
)


def create_all(database: sqlite_utils.Database) -> None:
    """Create whatever tables are missing. Safe to run on every start."""
    for create in CREATORS:
        create(database)
    database.execute(f"PRAGMA user_version={VERSION}")


def init_app(app: Flask) -> None:
    """Create the tables on start; add `flask init-db`."""
    database = db.connect(app.config["DATABASE"])
    try:
        create_all(database)
    finally:
        database.close()
    app.cli.add_command(init_db_command)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database tables if they do not exist yet."""
    create_all(db.get_db())
    click.echo(f"Database ready: {current_app.config['DATABASE']}")
