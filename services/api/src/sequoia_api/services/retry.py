"""Retrying failed items: requeue them in one transaction, then publish the new tasks (the outbox
relay covers a publish that fails)."""

from __future__ import annotations

import logging

from sequoia_api.schemas import RetriedItem, RetryRequest, RetryResult
from sequoia_api.state import ApiState
from sequoia_core import dispatch
from sequoia_core.db import transitions
from sequoia_core.db.transitions import RetryFilter
from sequoia_core.db.pool import transaction

log = logging.getLogger(__name__)


def retry_failed(state: ApiState, request: RetryRequest) -> RetryResult:
    """Requeue failed items matching the request (permanent errors only when asked)."""
    flt = RetryFilter(voyage_slug=request.voyage_slug, media_kind=request.media_kind,
                      error_code=request.error_code, include_permanent=request.include_permanent,
                      limit=request.limit)
    with transaction(state.pool) as conn:
        if request.dry_run:
            picked = transitions.retry_candidates(conn, flt)
            items = [RetriedItem(media_id=c.id, task_id=None, previous_error_code=c.error_code) for c in picked]
            return RetryResult(dry_run=True, count=len(items), items=items)
        previous = {c.id: c.error_code for c in transitions.retry_candidates(conn, flt)}
        entries = transitions.retry_failed(conn, flt)
    dispatch.publish_entries(state.pool, state.celery, entries)
    items = [RetriedItem(media_id=e.media_id, task_id=e.task_id, previous_error_code=previous.get(e.media_id))
             for e in entries]
    log.info("retry requeued %d failed item(s)", len(items))
    return RetryResult(dry_run=False, count=len(items), items=items)
