"""The forwarder's heartbeat: a small file saying by when its next loop is due.

`/healthz` reads it to tell a live forwarder from a dead one, also when the
forwarder runs as `flask queue work` in another process than the web server.
The file holds two times and nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FILENAME = "forwarder.heartbeat"


@dataclass(frozen=True)
class Beat:
    at: datetime  # when the forwarder last went round its loop
    due_by: datetime  # the next beat comes before this, or the forwarder is stuck or gone


def beat(instance: Path, next_within: float) -> None:
    """Record a loop now, and that the next one comes within `next_within` seconds."""
    moment = datetime.now(UTC)
    due_by = moment + timedelta(seconds=next_within)
    text = json.dumps({"at": moment.isoformat(), "due_by": due_by.isoformat()})
    path = instance / FILENAME
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def last(instance: Path) -> Beat | None:
    """The last beat, or None when no forwarder ever ran for this instance."""
    try:
        data = json.loads((instance / FILENAME).read_text())
        return Beat(datetime.fromisoformat(data["at"]), datetime.fromisoformat(data["due_by"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):  # half-written or damaged: long overdue
        epoch = datetime.fromtimestamp(0, UTC)
        return Beat(epoch, epoch)
