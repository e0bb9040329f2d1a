"""Rendering stale items again (rendered under other recipe versions than the current ones): requeue
them in one transaction, then publish the new tasks (the outbox relay covers a publish that fails)."""

from __future__ import annotations

import logging

from sequoia_api.schemas import RerenderedItem, RerenderRequest, RerenderResult
from sequoia_api.state import ApiState
from sequoia_core import dispatch
from sequoia_core.db import transitions
from sequoia_core.db.transitions import StaleFilter
from sequoia_core.db.pool import transaction
from sequoia_core.recipes import current_versions

log = logging.getLogger(__name__)


def rerender_stale(state: ApiState, request: RerenderRequest) -> RerenderResult:
    """Requeue up to `limit` stale items matching the request, oldest first; a dry run only lists them."""
    flt = StaleFilter(current=current_versions(state.settings.recipes), voyage_slug=request.voyage_slug,
                      media_kind=request.media_kind, limit=request.limit)
    with transaction(state.pool) as conn:
        if request.dry_run:
            items = [RerenderedItem(media_id=item.id, task_id=None) for item in transitions.stale_items(conn, flt)]
            return RerenderResult(dry_run=True, count=len(items), items=items)
        entries = transitions.rerender_stale(conn, flt)
    dispatch.publish_entries(state.pool, state.celery, entries)
    items = [RerenderedItem(media_id=e.media_id, task_id=e.task_id) for e in entries]
    log.info("rerender requeued %d stale item(s)", len(items))
    return RerenderResult(dry_run=False, count=len(items), items=items)
