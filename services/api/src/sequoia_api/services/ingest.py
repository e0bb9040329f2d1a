"""Ingest: store each original in S3, then write its media and outbox rows in one transaction,
then publish. A crash after the commit loses nothing: the outbox relay publishes later."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from uuid import UUID, uuid4

from sequoia_api.schemas import MediaOut
from sequoia_api.services.media import media_out
from sequoia_api.services.registration import check_key
from sequoia_api.services.uploads import SpooledFile
from sequoia_api.state import ApiState
from sequoia_core import dispatch, tasks
from sequoia_core.db import batches, media, outbox
from sequoia_core.db.media import NewMedia
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.db.pool import transaction
from sequoia_core.errors import ErrorCode, ObjectNotFound, PermanentError, SequoiaError
from sequoia_core.lifecycle import FINAL_STATES
from sequoia_core.mediatypes import SNIFF_BYTES, MediaFormat, identify
from sequoia_core.queues import Priority, queue_for
from sequoia_core.storage import VOYAGE_SLUG_PATTERN, original_key

# Every code a file can be refused with at ingest, one by one (sniffing, size, register's key checks):
# the refusal counter starts with a series for each, so its dashboard panel and rates exist from zero.
REJECTION_CODES = (ErrorCode.EMPTY_FILE, ErrorCode.UNSUPPORTED_TYPE, ErrorCode.TYPE_MISMATCH,
                   ErrorCode.FILE_TOO_LARGE, ErrorCode.ORIGINAL_MISSING, ErrorCode.INVALID_KEY)

VOYAGE_SLUG = re.compile(VOYAGE_SLUG_PATTERN)
_POLL_SECONDS = 0.25


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


@dataclass
class Duplicate:
    """A file (`dedupe=sha256`) whose content the voyage already has: the item that holds it."""

    filename: str
    media_id: UUID
    task_id: UUID
    media_kind: str


FileResult = Accepted | Rejected | Duplicate


def check_voyage_slug(slug: str) -> None:
    """Slugs become S3 key segments: lowercase letters, digits and inner hyphens only."""
    if not VOYAGE_SLUG.match(slug):
        raise PermanentError(
            "voyage slug must be 1-64 lowercase letters, digits or inner hyphens", code=ErrorCode.INVALID_VOYAGE_SLUG
        )


def check_filename(name: str) -> None:
    """Refuse (`invalid_filename`) a name Postgres would refuse or a terminal would obey: NUL, control
    characters, lone surrogates. Checked before anything is written."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise PermanentError("the file name contains control characters", code=ErrorCode.INVALID_FILENAME)


def store_original(state: ApiState, voyage_slug: str, batch_id: UUID, upload: SpooledFile,
                   priority: Priority = Priority.LIVE) -> Accepted:
    """Sniff and upload one spooled file (hashed while it arrived); `PermanentError` if it is refused."""
    check_filename(upload.filename)
    fmt: MediaFormat = identify(upload.head, upload.filename)
    media_id = uuid4()
    key = original_key(voyage_slug, media_id, fmt.extension)
    item = _new_item(state, voyage_slug, batch_id, fmt, upload.filename, upload.size, upload.digest.hexdigest(),
                     key, media_id, priority)
    state.storage.put_stream(key, upload.file, fmt.mime, sha256=upload.digest.digest())
    return Accepted(filename=upload.filename, item=item)


def record_batch(state: ApiState, voyage_slug: str, batch_id: UUID, accepted: list[Accepted]) -> list[OutboxEntry]:
    """Write the batch, every media row and every outbox row in one transaction."""
    with transaction(state.pool) as conn:
        batches.insert_batch(conn, batch_id, voyage_slug, len(accepted))
        entries = []
        for a in accepted:
            media.insert_media(conn, a.item)
            entries.append(outbox.insert_entry(conn, a.item.id, tasks.GENERATE_DERIVATIVES, a.item.task_id,
                                               a.item.queue, a.item.priority))
        return entries


def check_size(state: ApiState, size: int) -> None:
    """Refuse an original over `MAX_UPLOAD_BYTES` (`file_too_large`)."""
    if size > state.settings.max_upload_bytes:
        raise PermanentError(
            f"{size} bytes is over the limit of {state.settings.max_upload_bytes}", code=ErrorCode.FILE_TOO_LARGE
        )


def _new_item(state: ApiState, voyage_slug: str, batch_id: UUID, fmt: MediaFormat, filename: str,
              size: int, checksum: str | None, key: str, media_id: UUID, priority: Priority) -> NewMedia:
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
        queue=queue_for(tasks.GENERATE_DERIVATIVES, priority).value,
        priority=priority.value,
    )


def register_original(state: ApiState, voyage_slug: str, batch_id: UUID, key: str, filename: str | None,
                      priority: Priority = Priority.LIVE) -> Accepted:
    """Accept an object a pipeline put in the bucket: an allowed key, HEADed and size-checked first, sniffed,
    then copied to the item's own key only if its ETag is still the one checked (what renders is what was
    checked; later changes to the pipeline's object change nothing)."""
    check_key(key, voyage_slug, state.settings.register_prefixes)
    check_filename(filename or key)
    head = state.storage.head(key)
    size, etag = int(head["ContentLength"]), head["ETag"]
    check_size(state, size)
    name = filename or key.rsplit("/", 1)[-1]
    fmt = identify(state.storage.read_prefix(key, SNIFF_BYTES, if_match=etag) if size else b"", name)
    media_id = uuid4()
    own_key = original_key(voyage_slug, media_id, fmt.extension)
    item = _new_item(state, voyage_slug, batch_id, fmt, name, size, None, own_key, media_id, priority)
    state.storage.copy(key, own_key, etag, fmt.mime)
    return Accepted(filename=name, item=item)


def accept_all(state: ApiState, voyage_slug: str, results: list[FileResult],
               batch_id: UUID) -> UUID | None:
    """Record and publish the accepted files as one batch; None when nothing was accepted."""
    accepted = [r for r in results if isinstance(r, Accepted)]
    if not accepted:
        return None
    entries = record_batch(state, voyage_slug, batch_id, accepted)
    dispatch.publish_entries(state.pool, state.celery, entries)
    return batch_id


def _duplicate(state: ApiState, voyage_slug: str, upload: SpooledFile, seen: dict[str, Accepted]) -> Duplicate | None:
    """The item (stored earlier, or earlier in this request) whose original has this upload's SHA-256."""
    checksum = upload.digest.hexdigest()
    if checksum in seen:
        item = seen[checksum].item
        return Duplicate(upload.filename, item.id, item.task_id, item.media_kind)
    with transaction(state.pool) as conn:
        row = media.find_by_checksum(conn, voyage_slug, checksum)
    return Duplicate(upload.filename, row.id, row.task_id, row.media_kind) if row else None


def ingest(state: ApiState, voyage_slug: str, uploads: list[SpooledFile], priority: Priority = Priority.LIVE,
           dedupe: bool = False) -> tuple[UUID | None, list[FileResult]]:
    """Store, record and publish every acceptable upload on the lane of `priority`; refuse the rest one by
    one. With `dedupe`, an upload whose SHA-256 the voyage already has is answered with that item and
    stored nowhere (a lookup, not a constraint: two calls racing with the same content may both store it)."""
    check_voyage_slug(voyage_slug)
    batch_id = uuid4()
    results: list[FileResult] = []
    seen: dict[str, Accepted] = {}
    for upload in uploads:
        duplicate = _duplicate(state, voyage_slug, upload, seen) if dedupe else None
        if duplicate is not None:
            results.append(duplicate)
            continue
        try:
            accepted = store_original(state, voyage_slug, batch_id, upload, priority)
        except PermanentError as err:
            results.append(Rejected(filename=upload.filename, error=err))
            continue
        seen[upload.digest.hexdigest()] = accepted
        results.append(accepted)
    return accept_all(state, voyage_slug, results, batch_id), results


def register(state: ApiState, voyage_slug: str, originals: list[tuple[str, str | None]],
             priority: Priority = Priority.LIVE) -> tuple[UUID | None, list[FileResult]]:
    """Accept originals already in S3 (key, optional file name); refuse missing or disallowed ones one by one."""
    check_voyage_slug(voyage_slug)
    batch_id = uuid4()
    results: list[FileResult] = []
    for key, filename in originals:
        try:
            results.append(register_original(state, voyage_slug, batch_id, key, filename, priority))
        except (PermanentError, ObjectNotFound) as err:
            results.append(Rejected(filename=filename or key, error=err))
    return accept_all(state, voyage_slug, results, batch_id), results


def wait_for_items(state: ApiState, media_ids: list[UUID]) -> dict[UUID, MediaOut]:
    """Synchronous mode: poll until every item is final or `SYNC_WAIT_TIMEOUT_SECONDS` passes; the
    latest view of every item, final or not (the caller tells which)."""
    deadline = time.monotonic() + state.settings.sync_wait_timeout_seconds
    latest: dict[UUID, MediaOut] = {}
    while True:
        with transaction(state.pool) as conn:
            for media_id in set(media_ids) - {i for i, m in latest.items() if m.status in FINAL_STATES}:
                row = media.get_media(conn, media_id)
                if row is not None:
                    latest[media_id] = media_out(row, state.storage)
        done = len(latest) == len(set(media_ids)) and all(m.status in FINAL_STATES for m in latest.values())
        remaining = deadline - time.monotonic()
        if done or remaining <= 0:
            return latest
        time.sleep(min(_POLL_SECONDS, remaining))  # the last look is at the deadline, not a poll past it
