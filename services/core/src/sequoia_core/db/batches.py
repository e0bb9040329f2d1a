"""SQL for `async_task_batches`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from sequoia_core import lifecycle
from sequoia_core.lifecycle import FINAL_STATES, OPEN_BATCH_STATES, BatchStatus, Status


@dataclass
class BatchRow:
    """One ingest batch as stored."""

    id: UUID
    voyage_slug: str
    batch_status: BatchStatus
    total_items: int
    created_at: datetime
    completed_at: datetime | None


_INSERT = "INSERT INTO async_task_batches (id, voyage_slug, total_items) VALUES (%s, %s, %s)"
_GET = "SELECT * FROM async_task_batches WHERE id = %s"
_LOCK = "SELECT 1 FROM async_task_batches WHERE id = %s FOR UPDATE"

# Runs after the batch row is locked, so two workers finishing the last two items cannot both
# miss each other's commit: the second waits for the lock and then sees the first's item.
_FINALIZE = f"""
UPDATE async_task_batches b
   SET batch_status = CASE
         WHEN s.cancelled = s.total THEN '{BatchStatus.CANCELLED}'
         WHEN s.failed > 0 OR s.cancelled > 0 THEN '{BatchStatus.COMPLETED_WITH_ERRORS}'
         ELSE '{BatchStatus.COMPLETED}' END,
       completed_at = now()
  FROM (SELECT count(*) AS total,
               count(*) FILTER (WHERE processing_status = '{Status.FAILED}') AS failed,
               count(*) FILTER (WHERE processing_status = '{Status.CANCELLED}') AS cancelled,
               count(*) FILTER (WHERE NOT processing_status = ANY(%(final)s)) AS open
          FROM media WHERE batch_id = %(id)s) s
 WHERE b.id = %(id)s AND b.batch_status = ANY(%(open_batch)s) AND s.open = 0
RETURNING b.batch_status
"""


def insert_batch(conn: psycopg.Connection, batch_id: UUID, voyage_slug: str, total_items: int) -> None:
    """Record a new batch in `processing`."""
    conn.execute(_INSERT, (batch_id, voyage_slug, total_items))


def get_batch(conn: psycopg.Connection, batch_id: UUID) -> BatchRow | None:
    """One batch, or None."""
    with conn.cursor(row_factory=class_row(BatchRow)) as cur:
        return cur.execute(_GET, (batch_id,)).fetchone()


def finalize_if_done(conn: psycopg.Connection, batch_id: UUID) -> BatchStatus | None:
    """Give the batch its final status once every item is final; exactly once. Returns it, if set now."""
    conn.execute(_LOCK, (batch_id,))
    return finalize_locked(conn, batch_id)


def finalize_locked(conn: psycopg.Connection, batch_id: UUID) -> BatchStatus | None:
    """`finalize_if_done` in a transaction that locked the batch's row in an earlier statement."""
    row = conn.execute(_FINALIZE, {"id": batch_id, "final": lifecycle.values(FINAL_STATES),
                                   "open_batch": lifecycle.values(OPEN_BATCH_STATES)}).fetchone()
    return BatchStatus(row[0]) if row else None


def finalize_all(conn: psycopg.Connection, batch_ids: Iterable[UUID | None]) -> None:
    """Finalise each batch an ending operation touched (None: an item without one). Locks are taken in
    id order, so two transactions ending items of the same batches cannot deadlock."""
    for batch_id in sorted({b for b in batch_ids if b is not None}):
        finalize_if_done(conn, batch_id)
