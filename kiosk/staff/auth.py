"""Who is signed in, for how long, and guards for staff-only and admin-only pages.

A staff session ends after 30 minutes without a request or 8 hours after sign-in,
whichever comes first. The session cookie is signed, not stored, so it cannot be
revoked by itself: it carries the account's session version, checked against the
database on every request, and logout, a password reset or disabling the account
raise that version (accounts.end_sessions) to end every copy of the cookie at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import abort, g, redirect, request, session, url_for

from . import accounts

IDLE = timedelta(minutes=30)
LONGEST = timedelta(hours=8)


def sign_in(staff: accounts.Staff) -> None:
    """Start a fresh session for this staff member (nothing of the previous one is kept)."""
    session.clear()
    now = datetime.now(UTC).isoformat()
    session.update(
        {
            "staff_id": staff.id,
            "staff_version": staff.session_version,
            "staff_since": now,
            "staff_seen": now,
        }
    )


def sign_out(staff: accounts.Staff | None) -> None:
    """End this session and, for a signed-in person, every other copy of it."""
    if staff is not None:
        accounts.end_sessions(staff.id)
    session.clear()


def _still_valid(staff: accounts.Staff | None) -> bool:
    if staff is None or staff.disabled or session.get("staff_version") != staff.session_version:
        return False
    now = datetime.now(UTC)
    since = datetime.fromisoformat(session.get("staff_since", "2000-01-01T00:00:00+00:00"))
    seen = datetime.fromisoformat(session.get("staff_seen", "2000-01-01T00:00:00+00:00"))
    return now - since < LONGEST and now - seen < IDLE


def current() -> accounts.Staff | None:
    """The signed-in staff member, or None (also when the session has run out)."""
    if "staff" in g:
        return g.staff
    g.staff = None
    staff_id = session.get("staff_id")
    if staff_id is not None:
        staff = accounts.get(staff_id)
        if _still_valid(staff):
            session["staff_seen"] = datetime.now(UTC).isoformat()
            g.staff = staff
        else:
            for key in ("staff_id", "staff_version", "staff_since", "staff_seen", "assisted"):
                session.pop(key, None)
    return g.staff


def staff_required(role: str | None = None) -> Callable:
    """Anonymous people go to the sign-in page; the wrong role gets 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            staff = current()
            if staff is None:
                return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
            if role is not None and staff.role != role:
                abort(403)
            return view(*args, **kwargs)

        guarded.staff_role = role or "any"  # read by the test that checks every route
        return guarded

    return decorator
