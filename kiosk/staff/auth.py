"""Who is signed in, for how long, and guards for staff-only and admin-only pages.

A staff session ends after 30 minutes without a request or 8 hours after sign-in,
whichever comes first, and at once when the account is disabled.
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
    session.update({"staff_id": staff.id, "staff_since": now, "staff_seen": now})


def sign_out() -> None:
    session.clear()


def current() -> accounts.Staff | None:
    """The signed-in staff member, or None (also when the session has run out)."""
    if "staff" in g:
        return g.staff
    g.staff = None
    staff_id = session.get("staff_id")
    if staff_id is not None:
        now = datetime.now(UTC)
        since = datetime.fromisoformat(session.get("staff_since", "2000-01-01T00:00:00+00:00"))
        seen = datetime.fromisoformat(session.get("staff_seen", "2000-01-01T00:00:00+00:00"))
        staff = accounts.get(staff_id)
        if staff and not staff.disabled and now - since < LONGEST and now - seen < IDLE:
            session["staff_seen"] = now.isoformat()
            g.staff = staff
        else:
            for key in ("staff_id", "staff_since", "staff_seen", "assisted"):
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
