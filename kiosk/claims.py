"""One live draft per return code across nodes: claims at the registry.

On one node, a resume ends the draft an earlier resume opened (kiosk/saved.py). Across
nodes, each resume also makes a random claim and records it at the registry
(deposits.claim); the draft keeps its claim only when the registry took it. While the
person goes on, a journey page asks the registry for the newest claim at most every
CHECK_SECONDS; a different one means the code was resumed on another device since, and
the draft ends exactly as on one node, with the same notice on this page.

    resume ─▶ claim token ─▶ PUT …/claim ─▶ 200: kept on the draft (drafts.claim)
    journey page ─▶ due? ─▶ GET …/claim ─▶ another token: saved.end(draft)
                                        ├▶ 410 deleted (sent elsewhere): saved.end(draft)
                                        └▶ same, 404, offline, nonsense: carry on

Only a claim the registry clearly states ends a draft: an offline kiosk keeps working.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app

from . import deposits, drafts, return_codes, saved
from .db import get_db

CHECK_SECONDS = 15.0  # at most one question to the registry per draft this often


def make() -> str:
    """A new claim token: 32 URL-safe characters, unguessable."""
    return secrets.token_urlsafe(24)


def after_resume(draft: drafts.Draft) -> None:
    """Claim the code for this freshly resumed draft; keep the claim if the registry took it.

    Never raises for the network: an unclaimed draft is simply never checked.
    """
    if not draft.return_code:
        return
    token = make()
    if deposits.claim(return_codes.lookup_id(draft.return_code), token):
        get_db().execute(
            "UPDATE drafts SET claim = ?, claim_checked_at = ? WHERE id = ?",
            [token, time.time(), draft.id],
        )


def ended_elsewhere(draft: drafts.Draft) -> bool:
    """Whether the registry says another resume holds this draft's code now; if so, end it.

    Asks at most every CHECK_SECONDS (app config CLAIM_CHECK_SECONDS) per draft, the time of
    the last question kept on the draft's row, so a busy page costs nothing.
    """
    if not draft.return_code:
        return False
    db = get_db()
    row = db.execute(
        "SELECT claim, claim_checked_at FROM drafts WHERE id = ?", [draft.id]
    ).fetchone()
    if row is None or not row[0]:
        return False
    every = current_app.config.get("CLAIM_CHECK_SECONDS", CHECK_SECONDS)
    now = time.time()
    if row[1] is not None and 0 <= now - row[1] < every:
        return False
    db.execute("UPDATE drafts SET claim_checked_at = ? WHERE id = ?", [now, draft.id])
    try:
        newest = deposits.current_claim(return_codes.lookup_id(draft.return_code))
    except deposits.Deleted:  # sent from another node: sending it from here too would repeat it
        saved.end(draft.id, saved.SENT)
        return True
    if newest is None or secrets.compare_digest(newest, row[0]):
        return False
    saved.end(draft.id)
    return True
