"""Derivative tasks: media rows seen as tasks, the page of active ones, and cancelling one."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from uuid import UUID

from sequoia_api.schemas import CancelResult, TaskPage, TaskStatus
from sequoia_api.services.media import error_info, placeholder
from sequoia_api.state import ApiState
from sequoia_core.db import reports, transitions
from sequoia_core.db.media import MediaRow
from sequoia_core.db.pool import async_transaction, transaction
from sequoia_core.db.reports import ActiveFilter
from sequoia_core.errors import Conflict, ErrorCode, NotFound, PermanentError
from sequoia_core.lifecycle import CANCELLABLE_STATES, Status

# What a task is while its item is in each state: a task `succeeded` when its item completed.
_TASK_STATE = {
    Status.PENDING: "queued",
    Status.QUEUED: "queued",
    Status.PROCESSING: "processing",
    Status.RETRYING: "retrying",
    Status.COMPLETED: "succeeded",
    Status.FAILED: "failed",
    Status.CANCELLED: "cancelled",
}
# A task that is no longer its item's current one.
SUPERSEDED = _TASK_STATE[Status.FAILED]


def task_state(processing_status: str) -> str:
    """The task state a media state stands for."""
    return _TASK_STATE[Status(processing_status)]


def _seconds(later, earlier) -> float | None:
    return (later - earlier).total_seconds() if later and earlier else None


def task_status(row: MediaRow, task_id=None, current: bool = True) -> TaskStatus:
    """A task's view of its media row. A replaced task reports `failed`, superseded by the current one."""
    return TaskStatus(
        task_id=task_id or row.task_id,
        state=task_state(row.processing_status) if current else SUPERSEDED,
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
        thumbhash=placeholder(row),
        created_at=row.created_at,
        queued_at=row.queued_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        wait_seconds=_seconds(row.started_at, row.queued_at),
        runtime_seconds=_seconds(row.completed_at, row.started_at),
    )


async def read_task(state: ApiState, task_id: UUID) -> TaskStatus:
    """One task, current or replaced; `NotFound` if no item ever had it."""
    async with async_transaction(state.read_pool) as conn:
        found = await reports.find_task_async(conn, task_id)
    if found is None:
        raise NotFound(f"no task {task_id}")
    return task_status(found.media, task_id=task_id, current=found.current)


def encode_cursor(created_at: datetime, media_id: UUID) -> str:
    """An opaque keyset cursor."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{media_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The keyset position of a cursor; `invalid_cursor` if it was not made by `encode_cursor`."""
    try:
        created, media_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), UUID(media_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise PermanentError("cursor is not one this API issued", code=ErrorCode.INVALID_CURSOR) from err


async def active_tasks(state: ApiState, flt: ActiveFilter, cursor: str | None, limit: int) -> TaskPage:
    """Active tasks matching `flt`, newest first: one page after `cursor`, with the next page's cursor."""
    after = decode_cursor(cursor) if cursor else None
    async with async_transaction(state.read_pool) as conn:
        rows = await reports.active_tasks(conn, flt, after, limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return TaskPage(items=[task_status(row) for row in page], next_cursor=next_cursor)


def revoke(state: ApiState, task_id: UUID, previous_status: str) -> bool:
    """Stop a task whose item was just cancelled or deleted (committed): a running one is revoked with
    terminate, which the return value says. Revoking also drops a waiting message at the worker; the
    guarded claim would skip it anyway."""
    terminate = previous_status == Status.PROCESSING
    state.control.revoke(str(task_id), terminate=terminate)
    return terminate


def cancel_task(state: ApiState, task_id: UUID) -> CancelResult:
    """Waiting → cancelled at once; running → revoked with terminate and cancelled; finished → 409."""
    with transaction(state.pool) as conn:
        found = reports.find_task(conn, task_id)
        if found is None:
            raise NotFound(f"no task {task_id}")
        if not found.current:
            raise Conflict(f"task {task_id} was replaced by task {found.media.task_id}; cancel that one")
        cancelled = transitions.cancel_task(conn, task_id, CANCELLABLE_STATES)
        if cancelled is None:
            raise Conflict(f"task {task_id} is already {task_state(found.media.processing_status)}")
    terminate = revoke(state, task_id, cancelled.previous_status)
    return CancelResult(task_id=task_id, media_id=cancelled.media_id, state=task_state(Status.CANCELLED),
                        previous_state=task_state(cancelled.previous_status), terminated=terminate)
