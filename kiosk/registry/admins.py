"""Registry administrators: accounts of their own, not any node's staff accounts.

The people who watch every node from the registry's web pages (admin_views.py) sign in
here; a node's social workers and administrators have no account at the registry. The
accounts are made, disabled, enabled and given new passwords from the command line only
(admins_cli.py).

Passwords are hashed by the same function as the node's staff passwords (werkzeug's
`generate_password_hash`, scrypt), imported from werkzeug itself: kiosk/staff/accounts.py,
where the node calls it, would bring the node's database and audit log with it.

Lockout works as on the node: after five wrong passwords for one user name, that name is
locked for fifteen minutes. Attempts are counted under the name as typed (normalised),
whether or not an account has it, so a locked unknown name reads exactly like a locked
real one, and each attempt is reserved in one atomic statement before its password is
checked, so however many guesses arrive at once, at most five checks run per lock. How
often one address may try at all is the rate limiter's business (admin_views.py).

Each account has a session version: a session is valid only while it matches, so signing
out and disabling end every copy of a session cookie at once. Tables: migration 3.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from ..validators import clean_line
from .database import Database

USERNAME_MAX = 50
MIN_PASSWORD = 12  # an account that sees every node: longer than a node's staff minimum (10)
MAX_FAILURES = 5
LOCK_MINUTES = 15


@dataclass(frozen=True)
class Admin:
    id: int
    username: str
    disabled: bool
    session_version: int
    created_at: str


class LoginRefused(Exception):
    """Why a sign-in failed. Only `locked` may be told to the person; `reason` is for the log."""

    def __init__(self, reason: str, admin: Admin | None) -> None:
        super().__init__(reason)
        self.reason = reason  # "locked", "unknown name", "disabled" or "wrong password"
        self.admin = admin
        self.locked = reason == "locked"


def _utc(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing as text compares the moments (both backends)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def normalise(username: str | None) -> str:
    """A user name as it is kept and looked up: one clean line, lower case."""
    return clean_line(username).lower()


def username_problem(username: str) -> str | None:
    """What is wrong with a (normalised) user name, or None."""
    if not username:
        return "the user name is empty"
    if len(username) > USERNAME_MAX:
        return f"the user name must have at most {USERNAME_MAX} characters"
    if any(character.isspace() for character in username):
        return "the user name must not contain spaces"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    return None


_COLUMNS = "id, username, disabled, session_version, created_at"


def _from_row(row: dict) -> Admin:
    return Admin(
        int(row["id"]),
        row["username"],
        bool(row["disabled"]),
        int(row["session_version"]),
        row["created_at"],
    )


def add(db: Database, username: str, password: str) -> Admin:
    """A new administrator; ValueError says what is wrong (a taken name too)."""
    username = normalise(username)
    problem = username_problem(username) or password_problem(password)
    if problem:
        raise ValueError(problem)
    rows = db.execute(
        "INSERT INTO registry_admins (username, password_hash, created_at, disabled,"
        " session_version) VALUES (?, ?, ?, 0, 0) ON CONFLICT (username) DO NOTHING"
        f" RETURNING {_COLUMNS}",
        [username, generate_password_hash(password), _utc(datetime.now(UTC))],
    ).fetchall()  # all of it: SQLite commits once the statement is read out
    if not rows:
        raise ValueError(f"an administrator named {username!r} exists already")
    names = _COLUMNS.split(", ")
    return _from_row(dict(zip(names, rows[0], strict=True)))


def get(db: Database, admin_id: int | None) -> Admin | None:
    if admin_id is None:
        return None
    rows = db.rows(f"SELECT {_COLUMNS} FROM registry_admins WHERE id = ?", [admin_id])
    return _from_row(rows[0]) if rows else None


def by_username(db: Database, username: str) -> Admin | None:
    rows = db.rows(
        f"SELECT {_COLUMNS} FROM registry_admins WHERE username = ?", [normalise(username)]
    )
    return _from_row(rows[0]) if rows else None


def everyone(db: Database) -> list[Admin]:
    return [
        _from_row(row)
        for row in db.rows(f"SELECT {_COLUMNS} FROM registry_admins ORDER BY username")
    ]


def _existing(db: Database, username: str) -> Admin:
    """The account with this name; LookupError, saying the name as kept, when there is none."""
    admin = by_username(db, username)
    if admin is None:
        raise LookupError(f"no administrator is named {normalise(username)!r}")
    return admin


def end_sessions(db: Database, admin_id: int) -> None:
    """Make every session of this account invalid from its next request on."""
    db.execute(
        "UPDATE registry_admins SET session_version = session_version + 1 WHERE id = ?", [admin_id]
    )


def disable(db: Database, username: str) -> Admin:
    """Disable an account and end its sessions; LookupError when there is no such account."""
    admin = _existing(db, username)
    db.execute(
        "UPDATE registry_admins SET disabled = 1, session_version = session_version + 1"
        " WHERE id = ?",
        [admin.id],
    )
    return get(db, admin.id)  # type: ignore[return-value]


def enable(db: Database, username: str) -> Admin:
    """Let a disabled account sign in again (with its old password); LookupError when none."""
    admin = _existing(db, username)
    db.execute("UPDATE registry_admins SET disabled = 0 WHERE id = ?", [admin.id])
    return get(db, admin.id)  # type: ignore[return-value]


def set_password(db: Database, username: str, password: str) -> Admin:
    """A new password for an account, for one who forgot theirs or whose old one got out.

    Every open session ends (the old password may be in someone else's hands) and the name's
    lock is lifted, so the person can sign in at once with the new one. LookupError when
    there is no such account, ValueError for a password too short.
    """
    admin = _existing(db, username)
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    db.execute(
        "UPDATE registry_admins SET password_hash = ?, session_version = session_version + 1"
        " WHERE id = ?",
        [generate_password_hash(password), admin.id],
    )
    _clear_attempts(db, _attempt_key(admin.username))
    return get(db, admin.id)  # type: ignore[return-value]


def authenticate(db: Database, username: str, password: str) -> Admin:
    """The administrator, or LoginRefused.

    The attempt is counted before the password is checked, so parallel guesses cannot
    slip checks in between a read of the count and its update; a hash is checked even
    for a name nobody has, so a wrong name takes as long as a wrong password.
    """
    key = _attempt_key(username)
    rows = db.rows(
        f"SELECT {_COLUMNS}, password_hash FROM registry_admins WHERE username = ?",
        [normalise(username)],
    )
    row = rows[0] if rows else None
    admin = _from_row(row) if row else None
    if not _reserve_attempt(db, key):
        raise LoginRefused("locked", admin)
    matches = check_password_hash(row["password_hash"] if row else _dummy_hash(), password)
    if admin is None:
        raise LoginRefused("unknown name", None)
    if not matches:
        raise LoginRefused("wrong password", admin)
    if admin.disabled:
        raise LoginRefused("disabled", admin)
    _clear_attempts(db, key)
    return admin


def _attempt_key(username: str) -> str:
    """The name attempts are counted under; names too long for an account share one key."""
    return normalise(username)[: USERNAME_MAX + 1]


# Portable upsert: the target table's columns named in full, as PostgreSQL wants them in
# DO UPDATE (where `excluded` is in scope too); every SET expression reads the old row.
_RESERVE = """
INSERT INTO registry_admin_attempts (username, attempts, locked_until) VALUES (?, 1, NULL)
ON CONFLICT (username) DO UPDATE SET
    attempts = CASE
        WHEN registry_admin_attempts.locked_until <= ? THEN 1
        ELSE registry_admin_attempts.attempts + 1
    END,
    locked_until = CASE
        WHEN registry_admin_attempts.locked_until <= ? THEN NULL
        WHEN registry_admin_attempts.locked_until IS NOT NULL
            THEN registry_admin_attempts.locked_until
        WHEN registry_admin_attempts.attempts + 1 >= ? THEN ?
    END
RETURNING attempts
"""


def _reserve_attempt(db: Database, key: str) -> bool:
    """Count one attempt for this name; False while it is locked (no password is checked).

    One statement reads and writes the count: atomic on SQLite (its one write lock) and on
    PostgreSQL (the conflicting row is locked for the update). The attempt that reaches the
    limit sets the lock and still runs; an expired lock starts the count again.
    """
    now = datetime.now(UTC)
    lock_end = now + timedelta(minutes=LOCK_MINUTES)
    rows = db.execute(
        _RESERVE, [key, _utc(now), _utc(now), MAX_FAILURES, _utc(lock_end)]
    ).fetchall()  # all of it, so the statement finishes and its write commits
    return rows[0][0] <= MAX_FAILURES


def _clear_attempts(db: Database, key: str) -> None:
    db.execute("DELETE FROM registry_admin_attempts WHERE username = ?", [key])


@cache
def _dummy_hash() -> str:
    """A hash nobody's password matches, made once, for names that have no account."""
    return generate_password_hash(secrets.token_hex(16))
