"""Staff accounts: social workers and administrators, their passwords, lockout and sessions.

Passwords are hashed with scrypt (werkzeug). After five wrong passwords for one
user name, that name is locked for fifteen minutes. The count lives in its own
table keyed by the name as typed (normalised), whether or not an account has
it, so a locked unknown name reads exactly like a locked real one. Each attempt
is reserved in one atomic statement before its password is checked: however
many guesses arrive at once, at most five checks run per lock.

How fast one address may try is the rate limiter's business (kiosk/limits.py),
so one person's failures never lock out everyone else behind the same proxy.

Each account has a session version. A session remembers the version it was
signed in with and is valid only while it matches, so logout, a password reset
and disabling end every session of that account, even a copied cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..db import get_db
from ..validators import clean_line

SOCIAL_WORKER, ADMIN = "social_worker", "admin"
ROLES = (SOCIAL_WORKER, ADMIN)
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
# What a staff account may hold: the form and the command line both stop here. The
# centre goes into every assisted application, whose schema allows 200 characters.
USERNAME_MAX = 50
NAME_MAX = 200
CENTRE_MAX = 200


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    name: str
    role: str
    centre: str
    disabled: bool
    session_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class LoginRefused(Exception):
    """Why a login failed: `locked` when the user name is locked out."""

    def __init__(self, locked: bool) -> None:
        super().__init__("locked" if locked else "wrong")
        self.locked = locked


def create_schema(db: sqlite_utils.Database) -> None:
    db["staff"].create(
        {
            "id": int,
            "username": str,
            "name": str,
            "role": str,
            "centre": str,
            "password_hash": str,
            "disabled": int,
            "session_version": int,
            "created_at": str,
        },
        pk="id",
        not_null={"username", "name", "role", "password_hash", "created_at"},
        defaults={"disabled": 0, "centre": "", "session_version": 0},
        if_not_exists=True,
    )
    db["staff"].create_index(["username"], unique=True, if_not_exists=True)
    if "session_version" not in db["staff"].columns_dict:  # a database from before sessions ended
        db["staff"].add_column("session_version", int, not_null_default=0)
    db["login_attempts"].create(
        {"username": str, "attempts": int, "locked_until": float},  # unix time
        pk="username",
        not_null={"attempts"},
        if_not_exists=True,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _from_row(row: dict) -> Staff:
    return Staff(
        row["id"],
        row["username"],
        row["name"],
        row["role"],
        row["centre"] or "",
        bool(row["disabled"]),
        row["session_version"] or 0,
    )


def normalise_username(username: str) -> str:
    return clean_line(username).lower()


def details_problem(username: str, name: str, centre: str) -> str | None:
    """What is wrong with an account's details (already cleaned), or None.

    The one place the limits are checked: accounts made from the command line
    meet the same rules as those made on the admin page.
    """
    if not username:
        return "the user name is empty"
    if len(username) > USERNAME_MAX:
        return f"the user name must have at most {USERNAME_MAX} characters"
    if not any(character.isalpha() for character in name):
        return "the full name must contain letters"
    if len(name) > NAME_MAX:
        return f"the full name must have at most {NAME_MAX} characters"
    if len(centre) > CENTRE_MAX:
        return f"the centre must have at most {CENTRE_MAX} characters"
    return None


def add(username: str, name: str, role: str, centre: str, password: str) -> Staff:
    """Add an account; ValueError says what is wrong with the details."""
    username, name, centre = normalise_username(username), clean_line(name), clean_line(centre)
    problem = details_problem(username, name, centre)
    if problem:
        raise ValueError(problem)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    db = get_db()
    staff_id = (
        db["staff"]
        .insert(
            {
                "username": username,
                "name": name,
                "role": role,
                "centre": centre,
                "password_hash": generate_password_hash(password),
                "disabled": 0,
                "session_version": 0,
                "created_at": _now().isoformat(timespec="seconds"),
            }
        )
        .last_pk
    )
    return get(staff_id)


def get(staff_id: int | None) -> Staff | None:
    if staff_id is None:
        return None
    rows = list(get_db()["staff"].rows_where("id = ?", [staff_id]))
    return _from_row(rows[0]) if rows else None


def _row(username: str) -> dict | None:
    rows = list(get_db()["staff"].rows_where("username = ?", [normalise_username(username)]))
    return rows[0] if rows else None


def by_username(username: str) -> Staff | None:
    row = _row(username)
    return _from_row(row) if row else None


def everyone() -> list[Staff]:
    return [_from_row(row) for row in get_db()["staff"].rows_where(order_by="username")]


def end_sessions(staff_id: int) -> None:
    """Make every session signed in to this account invalid from its next request on."""
    get_db().execute(
        "UPDATE staff SET session_version = session_version + 1 WHERE id = ?", [staff_id]
    )


def set_disabled(staff_id: int, disabled: bool) -> None:
    get_db()["staff"].update(staff_id, {"disabled": int(disabled)})
    end_sessions(staff_id)


def new_password() -> str:
    """A random first password, shown once to the administrator who hands it over."""
    return secrets.token_urlsafe(12)


def reset_password(staff_id: int) -> str:
    """Give the account a new random password (shown once), lift any lock, end its sessions."""
    password = new_password()
    _store_password(staff_id, password)
    return password


def set_password(staff_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    _store_password(staff_id, password)


def _store_password(staff_id: int, password: str) -> None:
    get_db()["staff"].update(staff_id, {"password_hash": generate_password_hash(password)})
    end_sessions(staff_id)
    staff = get(staff_id)
    if staff:
        _clear_attempts(staff.username)


def authenticate(username: str, password: str) -> Staff:
    """The staff member, or LoginRefused. Every failure is audited.

    The attempt is counted before the password is checked, so parallel guesses
    cannot slip checks in between a read of the count and its update.
    """
    key = _attempt_key(username)
    row = _row(username)
    staff_id = row["id"] if row else None
    if not _reserve_attempt(key):
        audit.record("login_failed", staff_id=staff_id, detail="locked")
        raise LoginRefused(locked=True)
    # Always check a hash, so a wrong name takes as long as a wrong password.
    matches = check_password_hash(row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or row["disabled"] or not matches:
        audit.record("login_failed", staff_id=staff_id, detail=None if row else "unknown name")
        raise LoginRefused(locked=False)
    _clear_attempts(key)
    audit.record("login", staff_id=row["id"])
    return _from_row(row)


def _attempt_key(username: str) -> str:
    """The name attempts are counted under; names too long for an account share one key."""
    return normalise_username(username)[: USERNAME_MAX + 1]


_RESERVE = """
INSERT INTO login_attempts (username, attempts, locked_until) VALUES (:name, 1, NULL)
ON CONFLICT (username) DO UPDATE SET
    attempts = CASE WHEN locked_until <= :now THEN 1 ELSE attempts + 1 END,
    locked_until = CASE
        WHEN locked_until <= :now THEN NULL
        WHEN locked_until IS NOT NULL THEN locked_until
        WHEN attempts + 1 >= :limit THEN :lock_end
    END
RETURNING attempts
"""


def _reserve_attempt(key: str) -> bool:
    """Count one attempt for this name; False when it is locked and the password must not be tried.

    One statement reads and writes the count, so SQLite's write lock makes it atomic
    across threads and processes. The attempt that reaches the limit sets the lock
    and still runs; an expired lock starts the count again.
    """
    now = _now()
    lock_end = now + timedelta(minutes=LOCK_MINUTES)
    rows = (
        get_db()
        .execute(
            _RESERVE,
            {
                "name": key,
                "now": now.timestamp(),
                "limit": MAX_FAILURES,
                "lock_end": lock_end.timestamp(),
            },
        )
        .fetchall()  # all of it, so the statement finishes and its write commits
    )
    return rows[0][0] <= MAX_FAILURES


def _clear_attempts(key: str) -> None:
    get_db().execute("DELETE FROM login_attempts WHERE username = ?", [_attempt_key(key)])


_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
