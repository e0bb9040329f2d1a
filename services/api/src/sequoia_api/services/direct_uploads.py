"""Originals sent straight to S3: the API hands out presigned URLs (one PUT, or S3 multipart with a URL
per part above a size threshold) for a key in the voyage's register area, and the completion call
registers the object through the register path (HEAD, size check, sniff, ETag-pinned copy), so large
files never stream through the API. Uploads never completed are aborted on beat once expired
(sequoia_media/uploads.py)."""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sequoia_api.schemas import CompletedPart, UploadPart, UploadRequest, UploadTicket
from sequoia_api.services import ingest
from sequoia_api.services.ingest import Accepted, Rejected, check_filename, check_size, check_voyage_slug
from sequoia_api.services.registration import check_key
from sequoia_api.state import ApiState
from sequoia_core.db import direct_uploads
from sequoia_core.db.direct_uploads import DirectUpload
from sequoia_core.db.pool import transaction
from sequoia_core.errors import Conflict, ErrorCode, NotFound, ObjectNotFound, PermanentError, TransientError
from sequoia_core.queues import Priority

log = logging.getLogger(__name__)

MAX_PARTS = 10_000  # S3's limit
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _key(state: ApiState, voyage_slug: str, upload_id: UUID, filename: str) -> str:
    """`<first REGISTER_PREFIXES area of the voyage><upload id>/<file name, S3-safe>`."""
    if not state.settings.register_prefixes:
        raise PermanentError("no REGISTER_PREFIXES is configured, so nothing can be uploaded directly",
                             code=ErrorCode.INVALID_KEY)
    prefix = state.settings.register_prefixes[0].format(voyage=voyage_slug)
    key = f"{prefix}{upload_id}/{_UNSAFE.sub('_', filename).lstrip('.') or 'file'}"
    check_key(key, voyage_slug, state.settings.register_prefixes)
    return key


def part_size_for(size: int, configured: int) -> int:
    """The configured part size, raised when the file would need more than S3's 10,000 parts."""
    return max(configured, math.ceil(size / MAX_PARTS))


def create_upload(state: ApiState, voyage_slug: str, request: UploadRequest) -> UploadTicket:
    """Remember the upload, then presign its URLs (a multipart upload is started in S3 first)."""
    check_voyage_slug(voyage_slug)
    check_filename(request.filename)
    check_size(state, request.size_bytes)
    settings, upload_id = state.settings, uuid4()
    key = _key(state, voyage_slug, upload_id, request.filename)
    expiry = settings.upload_expiry_seconds
    expires_at = datetime.now(UTC) + timedelta(seconds=expiry)
    with transaction(state.pool) as conn:
        direct_uploads.insert_upload(conn, upload_id, voyage_slug, key, request.filename, request.size_bytes,
                                     expires_at)
    ticket = UploadTicket(upload_id=upload_id, key=key, method="single", expires_at=expires_at)
    if request.size_bytes <= settings.upload_multipart_threshold_bytes:
        ticket.url = state.storage.presigned_put(key, expiry)
        return ticket
    part_size = part_size_for(request.size_bytes, settings.upload_part_size_bytes)
    try:
        s3_upload_id = state.storage.create_multipart(key)
    except Exception:
        with transaction(state.pool) as conn:  # nothing was handed out: forget it
            direct_uploads.delete_upload(conn, upload_id)
        raise
    with transaction(state.pool) as conn:
        direct_uploads.set_multipart(conn, upload_id, s3_upload_id, part_size)
    count = math.ceil(request.size_bytes / part_size)
    ticket.method, ticket.part_size = "multipart", part_size
    ticket.parts = [UploadPart(part_number=n, size_bytes=min(part_size, request.size_bytes - (n - 1) * part_size),
                               url=state.storage.presigned_part(key, s3_upload_id, n, expiry))
                    for n in range(1, count + 1)]
    return ticket


def _assemble(state: ApiState, upload: DirectUpload, parts: list[CompletedPart]) -> None:
    """Join a multipart upload's parts; a single PUT has none to join."""
    if upload.s3_upload_id is None:
        if parts:
            raise PermanentError("a single-PUT upload takes no parts", code=ErrorCode.INVALID_PARTS)
        return
    if not parts:
        raise PermanentError("a multipart upload is completed with its parts' numbers and ETags",
                             code=ErrorCode.INVALID_PARTS)
    try:
        state.storage.complete_multipart(upload.key, upload.s3_upload_id,
                                         [(p.part_number, p.etag) for p in sorted(parts, key=lambda p: p.part_number)])
    except ObjectNotFound:
        pass  # already joined by an earlier call that failed afterwards: the HEAD below decides


def _check_uploaded(state: ApiState, upload: DirectUpload) -> None:
    """The object is there with exactly the declared size; a wrong size removes it (`size_mismatch`)."""
    try:
        size = int(state.storage.head(upload.key)["ContentLength"])
    except ObjectNotFound as err:
        raise Conflict(f"nothing was uploaded to {upload.key} yet", code=ErrorCode.UPLOAD_INCOMPLETE) from err
    if size != upload.size_bytes:
        state.storage.delete([upload.key])
        raise PermanentError(f"{size} bytes arrived, {upload.size_bytes} were declared; the object was removed, "
                             "start a new upload", code=ErrorCode.SIZE_MISMATCH)


def complete_upload(state: ApiState, voyage_slug: str, upload_id: UUID, parts: list[CompletedPart],
                    priority: Priority = Priority.LIVE) -> tuple[UUID | None, list[Accepted | Rejected]]:
    """Assemble the object, check its size and register it as one item (a batch of one). A refused
    object (size, type) is removed with its upload, so nothing half-done stays behind."""
    check_voyage_slug(voyage_slug)
    with transaction(state.pool) as conn:
        upload = direct_uploads.lock_upload(conn, upload_id, voyage_slug)
        if upload is None:
            raise NotFound(f"no upload {upload_id} for voyage {voyage_slug}")
        if upload.completed_at is not None:
            raise Conflict(f"upload {upload_id} was completed as media item {upload.media_id}",
                           code=ErrorCode.UPLOAD_COMPLETED)
        if upload.expires_at < datetime.now(UTC):
            raise Conflict(f"upload {upload_id} expired at {upload.expires_at.isoformat()}",
                           code=ErrorCode.UPLOAD_EXPIRED)
        _assemble(state, upload, parts)
        try:
            _check_uploaded(state, upload)
        except PermanentError:
            direct_uploads.delete_upload(conn, upload_id)
            conn.commit()
            raise
        batch_id, results = ingest.register(state, voyage_slug, [(upload.key, upload.filename)], priority)
        [result] = results
        if isinstance(result, Accepted):
            direct_uploads.mark_completed(conn, upload_id, result.item.id)
        else:
            direct_uploads.delete_upload(conn, upload_id)
    # The item has its own copy now (or was refused): the uploaded object is no longer needed.
    try:
        state.storage.delete([upload.key])
    except TransientError as err:
        log.warning("upload %s: the uploaded object %s stays, S3 did not delete it: %s", upload_id, upload.key, err)
    return batch_id, results
