"""Writes operators ask for: cancel a task, retry failed items. SQL in one transaction, then
publish the new tasks (the outbox relay covers a publish that fails)."""

from __future__ import annotations

import logging
from uuid import UUID

from sequoia_api.schemas import CancelResult, RetriedItem, RetryRequest, RetryResult
from sequoia_api.state import ApiState
from sequoia_api.task_views import task_state
from sequoia_core import dispatch
from sequoia_core.db import batches, lifecycle, reports
from sequoia_core.db.lifecycle import RetryFilter
from sequoia_core.db.media import CLAIMABLE_STATES, Status
from sequoia_core.db.pool import transaction
from sequoia_core.errors import Conflict, NotFound

log = logging.getLogger(__name__)


def cancel_task(state: ApiState, task_id: UUID) -> CancelResult:
    """Waiting → cancelled at once; running → revoked with terminate and cancelled; finished → 409."""
    with transaction(state.pool) as conn:
        found = reports.find_task(conn, task_id)
        if found is None:
            raise NotFound(f"no task {task_id}")
        if not found.current:
            raise Conflict(f"task {task_id} was replaced by task {found.media.task_id}; cancel that one")
        cancelled = lifecycle.cancel_task(conn, task_id, (*CLAIMABLE_STATES, Status.RETRYING, Status.PROCESSING))
        if cancelled is None:
            raise Conflict(f"task {task_id} is already {task_state(found.media.processing_status)}")
        if cancelled.batch_id:
            batches.finalize_if_done(conn, cancelled.batch_id)
    terminate = cancelled.previous_status == Status.PROCESSING
    # Revoking also drops a waiting message at the worker; the guarded claim would skip it anyway.
    state.control.revoke(str(task_id), terminate=terminate)
    return CancelResult(task_id=task_id, media_id=cancelled.media_id, state="cancelled",
                        previous_state=task_state(cancelled.previous_status), terminated=terminate)


def retry_failed(state: ApiState, request: RetryRequest) -> RetryResult:
    """Requeue failed items matching the request (permanent errors only when asked)."""
    flt = RetryFilter(voyage_slug=request.voyage_slug, media_kind=request.media_kind,
                      error_code=request.error_code, include_permanent=request.include_permanent,
                      limit=request.limit)
    with transaction(state.pool) as conn:
        if request.dry_run:
            picked = lifecycle.retry_candidates(conn, flt)
            items = [RetriedItem(media_id=c.id, task_id=None, previous_error_code=c.error_code) for c in picked]
            return RetryResult(dry_run=True, count=len(items), items=items)
        previous = {c.id: c.error_code for c in lifecycle.retry_candidates(conn, flt)}
        entries = lifecycle.retry_failed(conn, flt)
    dispatch.publish_entries(state.pool, state.celery, entries)
    items = [RetriedItem(media_id=e.media_id, task_id=e.task_id, previous_error_code=previous.get(e.media_id))
             for e in entries]
    log.info("retry requeued %d failed item(s)", len(items))
    return RetryResult(dry_run=False, count=len(items), items=items)
