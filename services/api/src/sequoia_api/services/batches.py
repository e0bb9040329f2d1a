"""Ingest batches: a batch's status, its counts by state and every item."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from sequoia_api.schemas import BatchItemOut, BatchOut
from sequoia_api.state import ApiState
from sequoia_core.db import batches, media
from sequoia_core.db.pool import transaction
from sequoia_core.errors import NotFound
from sequoia_core.lifecycle import FINAL_STATES


def read_batch(state: ApiState, batch_id: UUID) -> BatchOut:
    """One batch with every item; `NotFound` if there is none."""
    with transaction(state.pool) as conn:
        batch = batches.get_batch(conn, batch_id)
        items = media.list_batch_items(conn, batch_id) if batch else []
    if batch is None:
        raise NotFound(f"no batch {batch_id}")
    counts = Counter(item.processing_status for item in items)
    return BatchOut(
        id=batch.id,
        voyage_slug=batch.voyage_slug,
        batch_status=batch.batch_status,
        total_items=batch.total_items,
        counts=dict(counts),
        finished=sum(counts[s] for s in FINAL_STATES),
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        items=[
            BatchItemOut(media_id=i.id, filename=i.original_filename, media_kind=i.media_kind,
                         status=i.processing_status, error_code=i.error_code)
            for i in items
        ],
    )
