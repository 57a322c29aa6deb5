"""Supporting documents on their way to the registry: tus 1.0 uploads that resume.

An application with files (payload version 2) sends each file before its envelope
(docs/registry-api.md, "Supporting documents"). Each file is one tus upload: created
once (its address kept in the attachments row before the first chunk goes), then sent in
chunks of CHUNK bytes, each acknowledged with the new offset. A forwarder killed mid-file
asks the registry for the offset (HEAD) and goes on from there: at most one chunk is sent
twice, never the file.

    no upload yet ─▶ POST /api/v1/files (creation) ─▶ 201 Location: kept
    upload kept   ─▶ HEAD ─▶ offset ─▶ PATCH chunk … ─▶ 204 at the end: the registry holds it
                                   └▶ 404/410: the upload is gone: made again
    the last chunk answered 422 (the file did not open): once more from the start, then dead

Why not tuspy, tus's own Python client: it sends every request without a timeout, so a
registry that takes the connection and never answers would hold the forwarder for ever,
and it follows redirects (a captive portal's). This module speaks the same protocol
with the transport every other request to the registry uses (kiosk/outbox/transport.py:
no redirects, a timeout on each request); the tests check it against tuspy's server
expectations and the registry against tuspy itself.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from enum import Enum

import sqlite_utils

from ..documents import store
from .transport import Registry, opener

CHUNK = 256 * 1024  # bytes per PATCH: small enough to get through a link that drops often
TUS = "1.0.0"
REFUSALS = 2  # times the registry may fail to open a finished file before the item is dead
CREDENTIALS = {401, 403}
PERMANENT = {400, 412, 413, 415}


class Sent(Enum):
    """How far one turn got with an application's files."""

    ALL = "all"  # every file is held by the registry: the envelope may go
    MORE = "more"  # progress, and the turn's time is up: go on at once next turn
    RETRY = "retry"  # passing trouble: back off
    DEAD = "dead"  # the registry will never take a file
    PAUSE = "pause"  # this node's credentials are wrong


@dataclass(frozen=True)
class Progress:
    sent: Sent
    detail: str = ""


class _Trouble(Exception):
    """One request did not go as tus says; `sent` says what it means for the item."""

    def __init__(self, sent: Sent, detail: str) -> None:
        super().__init__(detail)
        self.sent, self.detail = sent, detail


def send(
    db: sqlite_utils.Database,
    registry: Registry,
    submission_id: str,
    timeout: float,
    budget: float,
) -> Progress:
    """Send what is left of one application's files, for at most about `budget` seconds.

    Each request waits at most `timeout` seconds. Nothing raises for the network or the
    registry's answers: the Progress says what to do with the outbox item.
    """
    deadline = time.monotonic() + budget
    for file in store.outgoing(db, submission_id):
        if file.uploaded:
            continue
        try:
            finished = _send_one(db, registry, submission_id, file, timeout, deadline)
        except _Trouble as trouble:
            return Progress(trouble.sent, trouble.detail)
        if not finished:
            return Progress(Sent.MORE, "files: the turn's time is up; going on next turn")
    return Progress(Sent.ALL)


def _send_one(
    db: sqlite_utils.Database,
    registry: Registry,
    submission_id: str,
    file: store.Outgoing,
    timeout: float,
    deadline: float,
) -> bool:
    """Upload one file from where the registry has it; True once the registry holds it all."""
    url, offset = file.upload_url, 0
    if url is not None:
        offset = _offset(registry, url, len(file.sealed), timeout)
        if offset is None:  # the registry no longer has this upload: start it again
            store.upload_again(db, file.id)
            url = None
    if url is None:
        url = _create(registry, submission_id, file, timeout)
        store.upload_started(db, file.id, url)
        offset = 0
    while offset < len(file.sealed):
        if time.monotonic() >= deadline:
            return False
        offset = _patch(db, registry, url, file, offset, timeout)
    store.upload_finished(db, file.id)
    return True


def _headers(registry: Registry, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {registry.token}", "Tus-Resumable": TUS, **more}


def _metadata(**values: str) -> str:
    """tus's Upload-Metadata: `key base64(value)` pairs, comma-separated."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode('ascii')}" for key, value in values.items()
    )


def _create(registry: Registry, submission_id: str, file: store.Outgoing, timeout: float) -> str:
    """POST the creation; the upload's absolute address on this registry."""
    headers = _headers(
        registry,
        **{
            "Upload-Length": str(len(file.sealed)),
            "Upload-Metadata": _metadata(
                submission_id=submission_id, sha256=file.sha256, encryption=file.encryption
            ),
        },
    )
    status, answer, _body = _ask(f"{registry.url}/api/v1/files", "POST", headers, None, timeout)
    if status != 201 or not answer.get("location"):
        raise _from_status(status, "creating an upload")
    url = urllib.parse.urljoin(f"{registry.url}/api/v1/files", answer["location"])
    if not url.startswith(f"{registry.url}/api/v1/files/"):  # only ever our own registry
        raise _Trouble(Sent.RETRY, "files: an upload's address is not the registry's")
    return url


def _offset(registry: Registry, url: str, length: int, timeout: float) -> int | None:
    """How much of this upload the registry has; None when it has no such upload.

    An offset past the file, or an upload of another length, is not this file's: never
    taken as "finished" (nothing would have been sent), only as trouble.
    """
    status, answer, _body = _ask(url, "HEAD", _headers(registry), None, timeout)
    if status in (404, 410):
        return None
    if status not in (200, 204):
        raise _from_status(status, "asking an upload's offset")
    offset = _whole(answer.get("upload-offset"), "offset")
    if offset > length or answer.get("upload-length", str(length)) != str(length):
        raise _Trouble(Sent.RETRY, "files: the registry's offset or length is not this file's")
    return offset


def _patch(
    db: sqlite_utils.Database,
    registry: Registry,
    url: str,
    file: store.Outgoing,
    offset: int,
    timeout: float,
) -> int:
    """Send the chunk at `offset`; the registry's new offset."""
    chunk = file.sealed[offset : offset + CHUNK]
    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")
    headers = _headers(
        registry,
        **{
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "Upload-Checksum": f"sha256 {digest}",
        },
    )
    status, answer, body = _ask(url, "PATCH", headers, chunk, timeout)
    if status == 204:
        new = _whole(answer.get("upload-offset"), "offset")
        if not offset < new <= offset + len(chunk):
            raise _Trouble(Sent.RETRY, "files: the registry answered an offset out of range")
        return new
    if status == 409:  # another offset than ours: ask, and go on from the registry's
        found = _offset(registry, url, len(file.sealed), timeout)
        if found is None:
            store.upload_again(db, file.id)
            raise _Trouble(Sent.RETRY, "files: the upload went away; starting it again")
        return found
    if status in (404, 410):
        store.upload_again(db, file.id)
        raise _Trouble(Sent.RETRY, "files: the upload went away; starting it again")
    if status == 422:  # the finished file did not open or had another hash
        store.upload_again(db, file.id, refused=True)
        if file.refusals + 1 >= REFUSALS:
            reason = body[:200].decode("utf-8", "replace")
            raise _Trouble(Sent.DEAD, f"files: the registry could not open a file: {reason}")
        raise _Trouble(Sent.RETRY, "files: the registry could not open a file; sending it again")
    if status == 460:  # the chunk was damaged on the way: send it again
        raise _Trouble(Sent.RETRY, "files: a chunk's checksum did not match")
    raise _from_status(status, "sending a chunk")


def _from_status(status: int, doing: str) -> _Trouble:
    detail = f"files: HTTP {status} {doing}" if status else f"files: network trouble {doing}"
    if status in CREDENTIALS:
        return _Trouble(Sent.PAUSE, detail)
    if status in PERMANENT:
        return _Trouble(Sent.DEAD, detail)
    return _Trouble(Sent.RETRY, detail)


def _whole(value: str | None, what: str) -> int:
    if value is None or not value.isdigit() or len(value) > 12:
        raise _Trouble(Sent.RETRY, f"files: the registry's answer has no {what}")
    return int(value)


def _ask(
    url: str, method: str, headers: dict[str, str], data: bytes | None, timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """One request: (status, the answer's headers in lower case, up to 4 KB of its body).

    Status 0 for a network error, a timeout or a redirect (which the opener does not follow).
    """
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, _lower(response.headers), response.read(4096)
    except urllib.error.HTTPError as error:
        try:
            return error.code, _lower(error.headers), error.read(4096)
        finally:
            error.close()
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise _Trouble(Sent.RETRY, f"files: network: {type(error).__name__}") from None


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
