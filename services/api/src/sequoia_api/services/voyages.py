"""A voyage's processing status: counts by state and kind, progress, recent failures and batches."""

from __future__ import annotations

import psycopg

from sequoia_api.schemas import BatchSummary, ErrorInfo, FailedItemOut, VoyageStatus
from sequoia_api.services.stats import by_state_and_kind
from sequoia_api.state import ApiState
from sequoia_core.db import reports
from sequoia_core.db.media import MediaRow
from sequoia_core.db.pool import async_transaction
from sequoia_core.errors import ErrorCode, NotFound
from sequoia_core.lifecycle import FINAL_STATES
from sequoia_core.recipes import Recipe, current_versions


async def voyage_status(conn: psycopg.AsyncConnection, voyage_slug: str, recipes: tuple[Recipe, ...],
                        failed_limit: int = 20) -> VoyageStatus:
    """Counts by state and kind, stale items (against `recipes`), progress, failures and batches of one voyage."""
    snapshot = await reports.voyage_snapshot(conn, voyage_slug, current_versions(recipes), failed_limit)
    by_state, by_kind = by_state_and_kind(snapshot.counts)
    total = sum(by_state.values())
    if total == 0:
        raise NotFound(f"no media for voyage {voyage_slug}")
    finished = sum(by_state.get(s, 0) for s in FINAL_STATES)
    failed = [
        FailedItemOut(media_id=f.id, filename=f.original_filename, media_kind=f.media_kind,
                      error=ErrorInfo(code=f.error_code or ErrorCode.UNKNOWN, message=f.error_message))
        for f in snapshot.failed
    ]
    batches = [
        BatchSummary(id=b.id, batch_status=b.batch_status, total_items=b.total_items, created_at=b.created_at,
                     completed_at=b.completed_at)
        for b in snapshot.batches
    ]
    return VoyageStatus(voyage_slug=voyage_slug, total=total, counts_by_state=by_state, counts_by_kind=by_kind,
                        stale_by_kind={s.media_kind: s.count for s in snapshot.stale},
                        progress_percent=round(100.0 * finished / total, 2), failed_items=failed, batches=batches)


async def read_voyage_status(state: ApiState, voyage_slug: str, failed_limit: int) -> VoyageStatus:
    """`voyage_status` on the read pool."""
    async with async_transaction(state.read_pool) as conn:
        return await voyage_status(conn, voyage_slug, state.settings.recipes, failed_limit)


async def gallery_view(state: ApiState, voyage_slug: str) -> tuple[VoyageStatus, list[MediaRow]]:
    """What the gallery page shows, read in one transaction: the voyage's status and every item."""
    async with async_transaction(state.read_pool) as conn:
        status = await voyage_status(conn, voyage_slug, state.settings.recipes)
        return status, await reports.voyage_items(conn, voyage_slug)
