"""The registry's schema, as numbered migrations that run on start, on either backend.

Each migration is applied once, in order, and recorded in `schema_migrations`; a
registry started on an older database brings it up to date before it answers. A
migration is never edited once released: a change is a new one at the end.

Several server processes may start at once (gunicorn's workers): the first to take
the migration lock applies what is missing, and the others find it done. The whole run
is one transaction, so a registry killed mid-migration leaves the schema as it was.

Migration 1 is the schema the registry had before migrations. Its SQLite half uses
`IF NOT EXISTS`, so a database made by that registry is adopted as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .database import Database

LOCK = "registry schema migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgresql: str

    def statements(self, dialect: str) -> list[str]:
        text = self.sqlite if dialect == "sqlite" else self.postgresql
        return [part.strip() for part in text.split(";") if part.strip()]


_START_SQLITE = """
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_nodes_token_sha256 ON nodes (token_sha256);
CREATE TABLE IF NOT EXISTS applications (
    id INTEGER PRIMARY KEY,
    node_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    via TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_applications_node_id_submission_id
    ON applications (node_id, submission_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_applications_submission_id ON applications (submission_id);
CREATE TABLE IF NOT EXISTS saved (
    lookup_id TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    node_id TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    claim TEXT,
    claimed_at TEXT
);
CREATE INDEX IF NOT EXISTS idx_saved_expires_at ON saved (expires_at);
CREATE TABLE IF NOT EXISTS saved_gone (
    lookup_id TEXT PRIMARY KEY,
    deleted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_uploads (
    file_id TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    encryption TEXT NOT NULL,
    upload_length INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_file_uploads_updated_at ON file_uploads (updated_at);
CREATE TABLE IF NOT EXISTS file_chunks (
    file_id TEXT,
    chunk_offset INTEGER,
    data BLOB NOT NULL,
    PRIMARY KEY (file_id, chunk_offset)
);
CREATE TABLE IF NOT EXISTS files (
    submission_id TEXT,
    sha256 TEXT,
    node_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (submission_id, sha256, node_id)
);
CREATE TABLE IF NOT EXISTS files_awaited (
    submission_id TEXT PRIMARY KEY,
    since TEXT NOT NULL
)
"""

# The same tables. Times stay fixed-width UTC text, as on SQLite, so that every store's
# comparisons read the same on both; ids are identities, files BYTEA.
_START_POSTGRESQL = """
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE applications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id TEXT NOT NULL,
    submission_id TEXT NOT NULL UNIQUE,
    payload_sha256 TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    via TEXT NOT NULL
);
CREATE TABLE saved (
    lookup_id TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    node_id TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    claim TEXT,
    claimed_at TEXT
);
CREATE INDEX saved_expires_at ON saved (expires_at);
CREATE TABLE saved_gone (
    lookup_id TEXT PRIMARY KEY,
    deleted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE file_uploads (
    file_id TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    encryption TEXT NOT NULL,
    upload_length BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX file_uploads_updated_at ON file_uploads (updated_at);
CREATE TABLE file_chunks (
    file_id TEXT,
    chunk_offset BIGINT,
    data BYTEA NOT NULL,
    PRIMARY KEY (file_id, chunk_offset)
);
CREATE TABLE files (
    submission_id TEXT,
    sha256 TEXT,
    node_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    received_at TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (submission_id, sha256, node_id)
);
CREATE TABLE files_awaited (
    submission_id TEXT PRIMARY KEY,
    since TEXT NOT NULL
)
"""


class _LineEnded(Migration):
    """A migration whose statements end with `;` at the end of a line.

    Trigger bodies hold `;` of their own (SQLite's BEGIN … END, PL/pgSQL's), so its
    statements cannot be cut at every `;`; each is written with its inner ones mid-line.
    """

    def statements(self, dialect: str) -> list[str]:
        text = self.sqlite if dialect == "sqlite" else self.postgresql
        return [part.strip() for part in text.split(";\n") if part.strip()]


# The registry's audit log (audit_log.py): append-only, refused UPDATE and DELETE on both.
_AUDIT_SQLITE = """
CREATE TABLE registry_audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER registry_audit_no_update BEFORE UPDATE ON registry_audit
    BEGIN SELECT RAISE(ABORT, 'the registry audit log is append-only'); END;
CREATE TRIGGER registry_audit_no_delete BEFORE DELETE ON registry_audit
    BEGIN SELECT RAISE(ABORT, 'the registry audit log is append-only'); END;
CREATE TRIGGER registry_audit_no_replace BEFORE INSERT ON registry_audit
    WHEN EXISTS (SELECT 1 FROM registry_audit WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'the registry audit log is append-only'); END
"""

_AUDIT_POSTGRESQL = """
CREATE TABLE registry_audit (
    id BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE FUNCTION registry_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the registry audit log is append-only'
        USING ERRCODE = 'restrict_violation'; END $$;
CREATE TRIGGER registry_audit_no_change BEFORE UPDATE OR DELETE ON registry_audit
    FOR EACH ROW EXECUTE FUNCTION registry_audit_refuse();
CREATE TRIGGER registry_audit_no_truncate BEFORE TRUNCATE ON registry_audit
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_refuse()
"""

# Migration 2: each node's latest report of its health (reports_store.py). One row per
# node, replaced by each report; the registry's own receipt time beside the node's clock.
_REPORTS_SQLITE = """
CREATE TABLE node_reports (
    node_id TEXT PRIMARY KEY REFERENCES nodes (node_id),
    received_at TEXT NOT NULL,
    node_clock TEXT NOT NULL,
    report TEXT NOT NULL
)
"""

_REPORTS_POSTGRESQL = _REPORTS_SQLITE

# Registry administrators (admins.py): their accounts, and sign-in attempts per user name as
# typed (real or not), with the lock's end as fixed-width UTC text.
_ADMINS_SQLITE = """
CREATE TABLE registry_admins (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    session_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE registry_admin_attempts (
    username TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    locked_until TEXT
)
"""

_ADMINS_POSTGRESQL = """
CREATE TABLE registry_admins (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    session_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE registry_admin_attempts (
    username TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    locked_until TEXT
)
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "applications, saved applications and files", _START_SQLITE, _START_POSTGRESQL),
    Migration(2, "node reports", _REPORTS_SQLITE, _REPORTS_POSTGRESQL),
    Migration(3, "registry administrators", _ADMINS_SQLITE, _ADMINS_POSTGRESQL),
    _LineEnded(4, "the registry's audit log", _AUDIT_SQLITE, _AUDIT_POSTGRESQL),
)


def _create_ledger(db: Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )


def applied(db: Database) -> list[int]:
    """The versions this database has, in order."""
    _create_ledger(db)
    return [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every migration this database lacks, in one transaction; the versions applied."""
    done: list[int] = []
    with db.transaction(lock=LOCK):
        have = set(applied(db))
        for migration in migrations:
            if migration.version in have:
                continue
            for statement in migration.statements(db.dialect):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, datetime.now(UTC).isoformat()],
            )
            done.append(migration.version)
    return done
