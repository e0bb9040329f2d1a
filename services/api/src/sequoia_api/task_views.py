"""Media rows seen as tasks."""

from __future__ import annotations

from sequoia_api.schemas import TaskStatus
from sequoia_api.views import error_info
from sequoia_core.db.media import MediaRow

_TASK_STATE = {
    "pending": "queued",
    "queued": "queued",
    "processing": "processing",
    "retrying": "retrying",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}


def task_state(processing_status: str) -> str:
    """The task state a media state stands for."""
    return _TASK_STATE[processing_status]


def _seconds(later, earlier) -> float | None:
    return (later - earlier).total_seconds() if later and earlier else None


def task_status(row: MediaRow, task_id=None, current: bool = True) -> TaskStatus:
    """A task's view of its media row. A replaced task reports `failed`, superseded by the current one."""
    return TaskStatus(
        task_id=task_id or row.task_id,
        state=task_state(row.processing_status) if current else "failed",
        current=current,
        superseded_by=None if current else row.task_id,
        media_id=row.id,
        voyage_slug=row.voyage_slug,
        media_kind=row.media_kind,
        queue=row.queue,
        attempts=row.attempts,
        retries=row.retries,
        worker=row.worker,
        error=error_info(row),
        created_at=row.created_at,
        queued_at=row.queued_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        wait_seconds=_seconds(row.started_at, row.queued_at),
        runtime_seconds=_seconds(row.completed_at, row.started_at),
    )
