"""Ingest: store each original in S3, then write its media and outbox rows in one transaction,
then publish. A crash after the commit loses nothing: the outbox relay publishes later."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO
from uuid import UUID, uuid4

from sequoia_api.state import ApiState
from sequoia_core import dispatch, tasks
from sequoia_core.db import batches, media, outbox
from sequoia_core.db.media import NewMedia
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.db.pool import transaction
from sequoia_core.errors import ErrorCode, ObjectNotFound, PermanentError, SequoiaError
from sequoia_core.mediatypes import SNIFF_BYTES, MediaFormat, identify
from sequoia_core.queues import queue_for
from sequoia_core.storage import original_key

# Every code a file can be refused with at ingest, one by one (sniffing, size, register's key checks):
# the refusal counter starts with a series for each, so its dashboard panel and rates exist from zero.
REJECTION_CODES = (ErrorCode.EMPTY_FILE, ErrorCode.UNSUPPORTED_TYPE, ErrorCode.TYPE_MISMATCH,
                   ErrorCode.FILE_TOO_LARGE, ErrorCode.ORIGINAL_MISSING, "invalid_key")

VOYAGE_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_CHUNK = 1024 * 1024


@dataclass
class Upload:
    """One file as received: its client-side name (metadata only) and a seekable stream."""

    filename: str
    stream: BinaryIO
    size: int | None = None


@dataclass
class Accepted:
    """A file stored in S3 and ready to be recorded."""

    filename: str
    item: NewMedia


@dataclass
class Rejected:
    """A file refused with a stable code."""

    filename: str
    error: SequoiaError


def check_voyage_slug(slug: str) -> None:
    """Slugs become S3 key segments: lowercase letters, digits and inner hyphens only."""
    if not VOYAGE_SLUG.match(slug):
        raise PermanentError(
            "voyage slug must be 1-64 lowercase letters, digits or inner hyphens", code="invalid_voyage_slug"
        )


def _checksum_and_size(stream: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def store_original(state: ApiState, voyage_slug: str, batch_id: UUID, upload: Upload) -> Accepted:
    """Sniff, size-check and upload one file; `PermanentError` if it is refused."""
    header = upload.stream.read(SNIFF_BYTES)
    upload.stream.seek(0)
    fmt: MediaFormat = identify(header, upload.filename)
    checksum, size = _checksum_and_size(upload.stream)
    media_id = uuid4()
    key = original_key(voyage_slug, media_id, fmt.extension)
    item = _new_item(state, voyage_slug, batch_id, fmt, upload.filename, size, checksum, key, media_id)
    state.storage.put_stream(key, upload.stream, fmt.mime)
    return Accepted(filename=upload.filename, item=item)


def record_batch(state: ApiState, voyage_slug: str, batch_id: UUID, accepted: list[Accepted]) -> list[OutboxEntry]:
    """Write the batch, every media row and every outbox row in one transaction."""
    with transaction(state.pool) as conn:
        batches.insert_batch(conn, batch_id, voyage_slug, len(accepted))
        entries = []
        for a in accepted:
            media.insert_media(conn, a.item)
            entries.append(outbox.insert_entry(conn, a.item.id, tasks.GENERATE_DERIVATIVES, a.item.task_id, a.item.queue))
        return entries


def _new_item(state: ApiState, voyage_slug: str, batch_id: UUID, fmt: MediaFormat, filename: str,
              size: int, checksum: str | None, key: str, media_id: UUID) -> NewMedia:
    if size > state.settings.max_upload_bytes:
        raise PermanentError(
            f"{size} bytes is over the limit of {state.settings.max_upload_bytes}", code=ErrorCode.FILE_TOO_LARGE
        )
    return NewMedia(
        id=media_id,
        voyage_slug=voyage_slug,
        batch_id=batch_id,
        media_kind=fmt.kind.value,
        media_format=fmt.name,
        original_filename=filename[:255],
        content_type=fmt.mime,
        size_bytes=size,
        checksum_sha256=checksum,
        original_key=key,
        task_id=uuid4(),
        queue=queue_for(tasks.GENERATE_DERIVATIVES).value,
    )


def register_original(state: ApiState, voyage_slug: str, batch_id: UUID, key: str, filename: str | None) -> Accepted:
    """Accept an original a pipeline already put in the bucket: it must exist and sniff as allowed."""
    if key.startswith("derivatives/") or ".." in key.split("/"):
        raise PermanentError("key must name an original, not a derivative or a relative path", code="invalid_key")
    size = int(state.storage.head(key)["ContentLength"])
    name = filename or key.rsplit("/", 1)[-1]
    fmt = identify(state.storage.read_prefix(key, SNIFF_BYTES) if size else b"", name)
    item = _new_item(state, voyage_slug, batch_id, fmt, name, size, None, key, uuid4())
    return Accepted(filename=name, item=item)


def accept_all(state: ApiState, voyage_slug: str, results: list[Accepted | Rejected],
               batch_id: UUID) -> UUID | None:
    """Record and publish the accepted files as one batch; None when nothing was accepted."""
    accepted = [r for r in results if isinstance(r, Accepted)]
    if not accepted:
        return None
    entries = record_batch(state, voyage_slug, batch_id, accepted)
    dispatch.publish_entries(state.pool, state.celery, entries)
    return batch_id


def ingest(state: ApiState, voyage_slug: str, uploads: list[Upload]) -> tuple[UUID | None, list[Accepted | Rejected]]:
    """Store, record and publish every acceptable upload; refuse the rest one by one."""
    check_voyage_slug(voyage_slug)
    batch_id = uuid4()
    results: list[Accepted | Rejected] = []
    for upload in uploads:
        try:
            results.append(store_original(state, voyage_slug, batch_id, upload))
        except PermanentError as err:
            results.append(Rejected(filename=upload.filename, error=err))
    return accept_all(state, voyage_slug, results, batch_id), results


def register(state: ApiState, voyage_slug: str, originals: list[tuple[str, str | None]]
             ) -> tuple[UUID | None, list[Accepted | Rejected]]:
    """Accept originals already in S3 (key, optional file name); refuse missing or disallowed ones one by one."""
    check_voyage_slug(voyage_slug)
    batch_id = uuid4()
    results: list[Accepted | Rejected] = []
    for key, filename in originals:
        try:
            results.append(register_original(state, voyage_slug, batch_id, key, filename))
        except (PermanentError, ObjectNotFound) as err:
            results.append(Rejected(filename=filename or key, error=err))
    return accept_all(state, voyage_slug, results, batch_id), results
