"""/api/v1/files: supporting documents, uploaded by tus 1.0 (core, creation, checksum).

A node uploads each file of an application, sealed to the registry's key, before it
sends the envelope (docs/registry-api.md, "Supporting documents"):

    OPTIONS /api/v1/files            what this server speaks
    POST    /api/v1/files            creation: Upload-Length, Upload-Metadata → 201, Location
    HEAD    /api/v1/files/<file_id>  the offset so far
    PATCH   /api/v1/files/<file_id>  one chunk at the offset → 204, the new offset

Every request carries the node's bearer token, checked first (auth.py), and every
request but OPTIONS `Tus-Resumable: 1.0.0`. An upload belongs to the node that created
it: to any other it does not exist. Each chunk acknowledged is in the registry's
SQLite (files_store.py); the last one is opened and checked against the hash the node
named before the answer. Refusals are `{"error": …}` naming the rule, never a value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from flask import Blueprint, Flask, g, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from .. import envelope
from . import files_store
from .auth import authenticate
from .database import get_db
from .intake import Refused, refused_answer, registry_key

bp = Blueprint("registry_files", __name__)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,checksum"
MAX_SIZE = 10 * 1024 * 1024 + 1024  # Tus-Max-Size: the largest cleaned file, sealed, and room
MAX_CHUNK = 4 * 1024 * 1024  # one PATCH body
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
METADATA_KEYS = {"submission_id", "sha256", "encryption"}
UUID4 = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SHA256 = re.compile("[0-9a-f]{64}")
FILE_ID = re.compile("[A-Za-z0-9_-]{32}")  # files_store.create's token_urlsafe(24)
WHOLE = re.compile("[0-9]{1,20}")  # tus offsets and lengths: non-negative, ASCII digits only
METADATA_PAIR = re.compile("([^ ,]+)(?: ([A-Za-z0-9+/]*={0,2}))?")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


bp.register_error_handler(Refused, refused_answer)


@bp.before_request
def _check() -> None:
    """The node's token first, then the tus version (which OPTIONS needs not name)."""
    g.node = authenticate(get_db())
    if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise Refused(412, f"Tus-Resumable must be {TUS_VERSION}")


@bp.after_request
def _tus_headers(response):
    """tus: every answer names the version it speaks; a 412 also the versions it takes."""
    response.headers["Tus-Resumable"] = TUS_VERSION
    if response.status_code == 412:
        response.headers["Tus-Version"] = TUS_VERSION
    return response


@bp.route("/api/v1/files", methods=["OPTIONS", "POST"])
def files():
    if request.method == "OPTIONS":
        return (
            "",
            204,
            {
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(MAX_SIZE),
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            },
        )
    length = _upload_length()
    metadata = _metadata()
    if metadata["encryption"] == envelope.PLAIN and registry_key() is not None:
        raise Refused(400, 'encryption "none" refused: this registry takes only HPKE files')
    db = get_db()
    if files_store.unfinished(db, g.node.node_id) >= files_store.MAX_UNFINISHED:
        answer = jsonify(error="too many unfinished uploads from this node; finish some first")
        return answer, 429, {"Retry-After": "60"}
    file_id = files_store.create(db, node_id=g.node.node_id, length=length, **metadata)
    return "", 201, {"Location": url_for(".upload", file_id=file_id)}


@bp.route("/api/v1/files/<file_id>", methods=["HEAD", "PATCH"])
def upload(file_id: str):
    if not FILE_ID.fullmatch(file_id):  # not one this registry made: no need to ask the database
        raise Refused(404, "not found")
    db = get_db()
    found = files_store.find(db, g.node.node_id, file_id)
    if found is None:
        raise Refused(404, "not found")
    if request.method == "HEAD":
        return (
            "",
            200,
            {
                "Upload-Offset": str(found.offset),
                "Upload-Length": str(found.length),
                "Cache-Control": "no-store",
            },
        )
    if request.mimetype != "application/offset+octet-stream":
        raise Refused(415, "Content-Type must be application/offset+octet-stream")
    offset = _whole(request.headers.get("Upload-Offset"), "Upload-Offset")
    if offset != found.offset:
        raise Refused(409, "Upload-Offset is not the upload's offset: ask HEAD")
    checksum = _checksum()
    chunk = _chunk()
    if len(chunk) > found.length - offset:
        raise Refused(413, "the chunk would pass Upload-Length")
    if checksum is not None and checksum[0](chunk).digest() != checksum[1]:
        answer = jsonify(error="Upload-Checksum does not match the chunk; it was not kept")
        answer.status = "460 Checksum Mismatch"
        return answer
    try:
        offset = files_store.append(db, g.node.node_id, file_id, offset, chunk, _open)
    except files_store.NotFound:
        raise Refused(404, "not found") from None
    except files_store.OffsetMismatch:
        raise Refused(409, "Upload-Offset is not the upload's offset: ask HEAD") from None
    except files_store.Unusable as unusable:
        raise Refused(422, f"{unusable.reason}; the upload was deleted") from None
    return "", 204, {"Upload-Offset": str(offset)}


def _open(upload: files_store.Upload, sealed: bytes) -> bytes:
    """The cleaned file inside a finished upload; Unusable if it does not open here."""
    try:
        return envelope.open_file(
            sealed,
            encryption=upload.encryption,
            node_id=upload.node_id,
            submission_id=upload.submission_id,
            sha256=upload.sha256,
            registry_key=registry_key(),
        )
    except envelope.EnvelopeError as error:
        raise files_store.Unusable(f"the file does not open: {error}") from None


# Headers ---------------------------------------------------------------------------


def _whole(value: str | None, name: str) -> int:
    if value is None or not WHOLE.fullmatch(value):
        raise Refused(400, f"{name} must be a whole number of bytes")
    return int(value)


def _upload_length() -> int:
    """Upload-Length: the sealed size, 1 to Tus-Max-Size (413 above it, 400 if no number)."""
    value = request.headers.get("Upload-Length")
    if value is not None and value.isascii() and value.isdigit() and len(value) > 20:
        raise Refused(413, f"Upload-Length is over Tus-Max-Size ({MAX_SIZE})")
    length = _whole(value, "Upload-Length")
    if length > MAX_SIZE:
        raise Refused(413, f"Upload-Length is over Tus-Max-Size ({MAX_SIZE})")
    if length == 0:
        raise Refused(400, "Upload-Length must be at least 1: a listed file is never empty")
    return length


def _metadata() -> dict[str, str]:
    """Upload-Metadata: exactly submission_id, sha256 and encryption, each of its shape.

    tus: comma-separated pairs of a key and the base64 of its value, keys unique.
    """
    header = request.headers.get("Upload-Metadata", "")
    rule = "Upload-Metadata must be comma-separated pairs of a key and a base64 value"
    values: dict[str, str] = {}
    for pair in header.split(","):
        match = METADATA_PAIR.fullmatch(pair.strip())
        if match is None or match[1] in values:
            raise Refused(400, rule)
        try:
            values[match[1]] = base64.b64decode(match[2] or "", validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # wrong padding; not UTF-8
            raise Refused(400, rule) from None
    if values.keys() != METADATA_KEYS:
        raise Refused(400, "Upload-Metadata must have exactly submission_id, sha256, encryption")
    if not UUID4.fullmatch(values["submission_id"]):
        raise Refused(400, "Upload-Metadata submission_id must be a UUID version 4, lower case")
    if not SHA256.fullmatch(values["sha256"]):
        raise Refused(400, "Upload-Metadata sha256 must be 64 lowercase hexadecimal characters")
    if values["encryption"] not in (envelope.HPKE, envelope.PLAIN):
        raise Refused(400, f"Upload-Metadata encryption must be {envelope.HPKE} or none")
    return values


def _checksum():
    """(hash function, digest) from Upload-Checksum, or None; Refused (400) if unreadable."""
    header = request.headers.get("Upload-Checksum")
    if header is None:
        return None
    name, _, digest = header.partition(" ")
    if name not in CHECKSUMS:
        raise Refused(400, "Upload-Checksum algorithm must be sha1 or sha256")
    function = CHECKSUMS[name]
    try:
        expected = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        expected = b""
    if len(expected) != function().digest_size:
        raise Refused(400, f"Upload-Checksum must be {name} and the base64 of its digest")
    return function, expected


def _chunk() -> bytes:
    """This PATCH's body, read at most MAX_CHUNK bytes into memory, never to a file."""
    request.max_content_length = MAX_CHUNK
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise Refused(413, "a chunk is at most 4 MB") from None
