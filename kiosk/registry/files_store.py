"""The registry's supporting documents: tus uploads in progress, and the files they became.

A node uploads each file sealed to the registry's key, in chunks (docs/registry-api.md,
"Supporting documents"). Every chunk the registry acknowledges is a row of
`file_chunks`, written in the same transaction that moves the upload's offset on, so a
node that lost an answer asks for the offset and goes on from there. When the last chunk
comes, the chunks are joined, opened and checked against the hash the node named; the
cleaned file is kept in `files` under (submission_id, sha256), once however often it
arrives, and the chunks go.

A finished upload keeps its row (without data) until it is swept: a node that lost the
answer to its last chunk asks the offset and learns that the file arrived. Every upload
is swept 7 days after its last chunk, at the next creation.

`files_awaited` notes an application stored while some of its files were not: its first
signed receipt, once they are all here, is then `created` (201) rather than a repeat.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .database import Database

STALE_AFTER = timedelta(days=7)  # an upload with no chunk for this long is deleted


class NotFound(Exception):
    """No upload under this id for this node (never created, swept, deleted, or another's)."""


class OffsetMismatch(Exception):
    """The chunk does not start at the upload's offset (another PATCH came first)."""


class Unusable(Exception):
    """The whole upload does not open here, or is not the file its hash names."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Upload:
    file_id: str
    node_id: str
    submission_id: str
    sha256: str
    encryption: str
    length: int
    offset: int


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing as text compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# Uploads --------------------------------------------------------------------------


def create(
    db: Database,
    *,
    node_id: str,
    submission_id: str,
    sha256: str,
    encryption: str,
    length: int,
) -> str:
    """A new, empty upload for `node_id`; its random id. Sweeps stale uploads first."""
    file_id = secrets.token_urlsafe(24)  # 32 characters of A-Z a-z 0-9 - _
    moment = _utc(_now())
    delete_stale(db)
    db.execute(
        "INSERT INTO file_uploads (file_id, node_id, submission_id, sha256, encryption,"
        " upload_length, upload_offset, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [file_id, node_id, submission_id, sha256, encryption, length, moment, moment],
    )
    return file_id


def find(db: Database, node_id: str, file_id: str) -> Upload | None:
    """The upload `file_id` if `node_id` created it and it is still kept; else None."""
    row = db.execute(
        "SELECT file_id, node_id, submission_id, sha256, encryption, upload_length,"
        " upload_offset FROM file_uploads WHERE file_id = ? AND node_id = ?",
        [file_id, node_id],
    ).fetchone()
    return Upload(*row) if row else None


def append(
    db: Database,
    node_id: str,
    file_id: str,
    offset: int,
    chunk: bytes,
    open_upload: Callable[[Upload, bytes], bytes],
) -> int:
    """Keep `chunk` at `offset`; the upload's new offset, once it is on disk.

    The chunk that completes the upload is not kept as a chunk: the sealed bytes are
    joined, `open_upload(upload, sealed)` opens them (raising Unusable if it cannot),
    and the file is kept if its SHA-256 is the one the node named. Either way the
    chunks go; an upload that was unusable goes with them, and Unusable is raised
    after that is committed. The caller checks that `chunk` fits in the upload.

    Raises NotFound, or OffsetMismatch when `offset` is not the upload's offset now.
    """
    unusable = None
    with db.transaction(lock=f"upload {file_id}"):
        upload = find(db, node_id, file_id)
        if upload is None:
            raise NotFound(file_id)
        if offset != upload.offset:
            raise OffsetMismatch(file_id)
        if not chunk:
            return upload.offset
        end = offset + len(chunk)
        if end < upload.length:
            db.execute(
                "INSERT INTO file_chunks (file_id, chunk_offset, data) VALUES (?, ?, ?)",
                [file_id, offset, chunk],
            )
            _moved(db, file_id, end)
            return end
        sealed = b"".join(
            row[0]
            for row in db.execute(
                "SELECT data FROM file_chunks WHERE file_id = ? ORDER BY chunk_offset",
                [file_id],
            )
        )
        db.execute("DELETE FROM file_chunks WHERE file_id = ?", [file_id])
        try:
            _keep(db, upload, open_upload(upload, sealed + chunk))
        except Unusable as error:
            db.execute("DELETE FROM file_uploads WHERE file_id = ?", [file_id])
            unusable = error
        else:
            _moved(db, file_id, end)
    if unusable is not None:
        raise unusable
    return end


def _moved(db: Database, file_id: str, offset: int) -> None:
    db.execute(
        "UPDATE file_uploads SET upload_offset = ?, updated_at = ? WHERE file_id = ?",
        [offset, _utc(_now()), file_id],
    )


def _keep(db: Database, upload: Upload, data: bytes) -> None:
    """Keep the opened file under its hash, once; Unusable if it is not the file named."""
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        raise Unusable("the file's SHA-256 is not the one in its metadata")
    db.execute(
        "INSERT INTO files (submission_id, sha256, node_id, size, received_at, data)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [upload.submission_id, upload.sha256, upload.node_id, len(data), _utc(_now()), data],
    )


def keep(db: Database, node_id: str, submission_id: str, sha256: str, data: bytes) -> None:
    """Keep a whole file that came another way than an upload (a USB bundle), once.

    Unusable if `data` is not the file `sha256` names.
    """
    upload = Upload("", node_id, submission_id, sha256, "", len(data), len(data))
    _keep(db, upload, data)


def delete_stale(db: Database) -> int:
    """Delete every upload, and its chunks, with no chunk for 7 days; how many went.

    A finished file whose application has not come in 7 either goes too: no application
    lists it (a node that uploads for ids it never sends is buggy, or someone else's), and
    should the application come after all, its 202 asks for the file again.
    """
    cutoff = _utc(_now() - STALE_AFTER)
    with db.transaction(lock="files sweep"):  # one sweep at a time: no two delete the same rows
        db.execute(
            "DELETE FROM file_chunks WHERE file_id IN"
            " (SELECT file_id FROM file_uploads WHERE updated_at < ?)",
            [cutoff],
        )
        db.execute(
            "DELETE FROM files WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM applications"
            " WHERE applications.submission_id = files.submission_id"
            " AND applications.node_id = files.node_id)",
            [cutoff],
        )
        return db.execute("DELETE FROM file_uploads WHERE updated_at < ?", [cutoff]).rowcount


MAX_UNFINISHED = 100  # uploads one node may have under way: five files of twenty applications


def unfinished(db: Database, node_id: str) -> int:
    """How many of this node's uploads have not reached their length yet."""
    row = db.execute(
        "SELECT COUNT(*) FROM file_uploads WHERE node_id = ? AND upload_offset < upload_length",
        [node_id],
    ).fetchone()
    return row[0]


# Files, for the receipt -----------------------------------------------------------


def missing(db: Database, node_id: str, submission_id: str, hashes: list[str]) -> list[str]:
    """Which of `hashes` this node has not delivered for `submission_id`, sorted."""
    rows = db.execute(
        "SELECT sha256 FROM files WHERE submission_id = ? AND node_id = ?",
        [submission_id, node_id],
    )
    return sorted(set(hashes) - {row[0] for row in rows})


def await_files(db: Database, submission_id: str) -> None:
    """Note that this application is stored but answered 202: some files are missing."""
    db.execute(
        "INSERT INTO files_awaited (submission_id, since) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [submission_id, _utc(_now())],
    )


def stop_awaiting(db: Database, submission_id: str) -> bool:
    """Whether this application was awaiting files (and no longer is): its first receipt."""
    return bool(
        db.execute("DELETE FROM files_awaited WHERE submission_id = ?", [submission_id]).rowcount
    )
