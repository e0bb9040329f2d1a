"""Media items: a stored row as the API shows it, with presigned derivative URLs."""

from __future__ import annotations

import base64
from uuid import UUID

from sequoia_api.schemas import DerivativeOut, ErrorInfo, MediaOut
from sequoia_api.state import ApiState
from sequoia_core.db import media
from sequoia_core.db.media import MediaRow
from sequoia_core.db.pool import transaction
from sequoia_core.errors import ErrorCode, NotFound
from sequoia_core.storage import Storage


def error_info(row: MediaRow) -> ErrorInfo | None:
    """The item's last error, if it has one."""
    return ErrorInfo(code=row.error_code, message=row.error_message) if row.error_code else None


def derivative_link(media_id: UUID, name: str) -> str:
    """The stable link of a derivative: it redirects to a fresh presigned URL each time."""
    return f"/api/media/{media_id}/derivatives/{name}"


def placeholder(row: MediaRow) -> str | None:
    """The item's ThumbHash as the API returns it (standard base64), if it has one."""
    return None if row.thumbhash is None else base64.b64encode(row.thumbhash).decode()


def media_out(row: MediaRow, storage: Storage) -> MediaOut:
    """A media row with presigned derivative URLs."""
    derivatives = [
        DerivativeOut(
            name=d["name"],
            format=d["format"],
            width=d.get("width"),
            height=d.get("height"),
            size_bytes=d.get("size_bytes"),
            url=storage.presigned_url(d["key"]),
            link=derivative_link(row.id, d["name"]),
        )
        for d in row.derivatives
    ]
    return MediaOut(
        id=row.id,
        voyage_slug=row.voyage_slug,
        batch_id=row.batch_id,
        task_id=row.task_id,
        media_kind=row.media_kind,
        media_format=row.media_format,
        original_filename=row.original_filename,
        size_bytes=row.size_bytes,
        status=row.processing_status,
        priority=row.priority,
        attempts=row.attempts,
        retries=row.retries,
        error=error_info(row),
        derivatives=derivatives,
        thumbhash=placeholder(row),
        recipe_versions=row.recipe_versions,
        metadata=row.metadata,
        created_at=row.created_at,
        queued_at=row.queued_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
    )


def read_media(state: ApiState, media_id: UUID) -> MediaOut:
    """One media item in full; `NotFound` if there is none."""
    with transaction(state.pool) as conn:
        row = media.get_media(conn, media_id)
    if row is None:
        raise NotFound(f"no media item {media_id}")
    return media_out(row, state.storage)


def derivative_url(state: ApiState, media_id: UUID, name: str) -> tuple[str, str]:
    """The voyage of an item and a fresh presigned URL of its derivative `name`; `NotFound` if either is missing."""
    with transaction(state.pool) as conn:
        row = media.get_media(conn, media_id)
    if row is None:
        raise NotFound(f"no media item {media_id}")
    derivative = next((d for d in row.derivatives if d["name"] == name), None)
    if derivative is None:
        raise NotFound(f"media item {media_id} has no derivative {name!r} (yet)", code=ErrorCode.DERIVATIVE_NOT_FOUND)
    return row.voyage_slug, state.storage.presigned_url(derivative["key"])
