"""Staff accounts: social workers and administrators, their passwords and lockout.

Passwords are hashed with scrypt (werkzeug). After five wrong passwords an account
is locked for fifteen minutes; an address with twenty failures in fifteen minutes
is refused for any account, so guessing is slow whichever name is tried.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..db import get_db

SOCIAL_WORKER, ADMIN = "social_worker", "admin"
ROLES = (SOCIAL_WORKER, ADMIN)
MAX_FAILURES = 5
LOCK_MINUTES = 15
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    name: str
    role: str
    centre: str
    disabled: bool

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class LoginRefused(Exception):
    """Why a login failed: `locked` when the account or address is locked out."""

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
            "failed_logins": int,
            "locked_until": str,
            "created_at": str,
        },
        pk="id",
        not_null={"username", "name", "role", "password_hash", "created_at"},
        defaults={"disabled": 0, "failed_logins": 0, "centre": ""},
        if_not_exists=True,
    )
    db["staff"].create_index(["username"], unique=True, if_not_exists=True)


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
    )


def normalise_username(username: str) -> str:
    return username.strip().lower()


def add(username: str, name: str, role: str, centre: str, password: str) -> Staff:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    db = get_db()
    staff_id = (
        db["staff"]
        .insert(
            {
                "username": normalise_username(username),
                "name": name.strip(),
                "role": role,
                "centre": centre.strip(),
                "password_hash": generate_password_hash(password),
                "disabled": 0,
                "failed_logins": 0,
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


def by_username(username: str) -> Staff | None:
    rows = list(get_db()["staff"].rows_where("username = ?", [normalise_username(username)]))
    return _from_row(rows[0]) if rows else None


def everyone() -> list[Staff]:
    return [_from_row(row) for row in get_db()["staff"].rows_where(order_by="username")]


def set_disabled(staff_id: int, disabled: bool) -> None:
    get_db()["staff"].update(staff_id, {"disabled": int(disabled)})


def new_password() -> str:
    """A random first password, shown once to the administrator who hands it over."""
    return secrets.token_urlsafe(12)


def reset_password(staff_id: int) -> str:
    """Give the account a new random password (shown once) and lift any lock."""
    password = new_password()
    get_db()["staff"].update(
        staff_id,
        {
            "password_hash": generate_password_hash(password),
            "failed_logins": 0,
            "locked_until": None,
        },
    )
    return password


def set_password(staff_id: int, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    get_db()["staff"].update(
        staff_id,
        {
            "password_hash": generate_password_hash(password),
            "failed_logins": 0,
            "locked_until": None,
        },
    )


def authenticate(username: str, password: str, ip: str | None) -> Staff:
    """The staff member, or LoginRefused. Every failure is counted and audited."""
    db = get_db()
    since = (_now() - timedelta(minutes=LOCK_MINUTES)).isoformat(timespec="seconds")
    if audit.failures_from(ip, since) >= MAX_FAILURES_PER_ADDRESS:
        audit.record("login_failed", detail="address locked")
        raise LoginRefused(locked=True)
    rows = list(db["staff"].rows_where("username = ?", [normalise_username(username)]))
    row = rows[0] if rows else None
    if row and row["locked_until"] and row["locked_until"] > _now().isoformat():
        audit.record("login_failed", staff_id=row["id"], detail="account locked")
        raise LoginRefused(locked=True)
    # Always check a hash, so a wrong name takes as long as a wrong password.
    stored = row["password_hash"] if row else _DUMMY_HASH
    if row is None or row["disabled"] or not check_password_hash(stored, password):
        _count_failure(row)
        raise LoginRefused(locked=False)
    db["staff"].update(row["id"], {"failed_logins": 0, "locked_until": None})
    audit.record("login", staff_id=row["id"])
    return _from_row(row)


def _count_failure(row: dict | None) -> None:
    if row is None:
        audit.record("login_failed", detail="unknown name")
        return
    failures = (row["failed_logins"] or 0) + 1
    changes: dict = {"failed_logins": failures}
    if failures >= MAX_FAILURES:
        changes["locked_until"] = (_now() + timedelta(minutes=LOCK_MINUTES)).isoformat()
        changes["failed_logins"] = 0
    get_db()["staff"].update(row["id"], changes)
    audit.record(
        "login_failed", staff_id=row["id"], detail="locked" if "locked_until" in changes else None
    )


_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
