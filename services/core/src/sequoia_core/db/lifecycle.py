"""Set-based transitions that start, stop or restart items: cancel, retry of failed items, and the
sweeper's requeue of stuck ones. Each writes its outbox rows in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from sequoia_core import tasks
from sequoia_core.db.media import Status
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.errors import PERMANENT_CODES, ErrorCode


@dataclass
class Cancelled:
    """An item a cancel request stopped."""

    media_id: UUID
    batch_id: UUID | None
    previous_status: str


@dataclass
class RetryFilter:
    """Which failed items to retry."""

    voyage_slug: str | None = None
    media_kind: str | None = None
    error_code: str | None = None
    include_permanent: bool = False
    limit: int = 100


@dataclass
class RetryCandidate:
    """A failed item a retry would pick."""

    id: UUID
    voyage_slug: str
    media_kind: str
    error_code: str | None


_CANCEL = """
WITH target AS (SELECT id, processing_status FROM media WHERE task_id = %(task_id)s FOR UPDATE)
UPDATE media m
   SET processing_status = 'cancelled', completed_at = now(), updated_at = now()
  FROM target
 WHERE m.id = target.id AND target.processing_status = ANY(%(from_states)s)
RETURNING m.id AS media_id, m.batch_id, target.processing_status AS previous_status
"""

_FAILED_SELECTION = """
SELECT id, voyage_slug, media_kind, error_code FROM media
 WHERE processing_status = 'failed'
   AND (%(voyage_slug)s::text IS NULL OR voyage_slug = %(voyage_slug)s)
   AND (%(media_kind)s::text IS NULL OR media_kind = %(media_kind)s)
   AND (%(error_code)s::text IS NULL OR error_code = %(error_code)s)
   AND (%(include_permanent)s OR error_code IS NULL OR NOT (error_code = ANY(%(permanent)s)))
 ORDER BY updated_at, id
 LIMIT %(limit)s
"""

# One statement: pick, give each a fresh task id (older deliveries then match nothing), write the
# outbox rows, and reopen the batches the items belong to.
_REQUEUE = """
WITH picked AS ({selection} FOR UPDATE SKIP LOCKED),
requeued AS (
    UPDATE media m
       SET processing_status = 'pending', task_id = gen_random_uuid(), {reset}
           queued_at = NULL, started_at = NULL, completed_at = NULL, worker = NULL, updated_at = now()
      FROM picked WHERE m.id = picked.id
    RETURNING m.id, m.task_id, m.queue, m.batch_id
),
reopened AS (
    UPDATE async_task_batches SET batch_status = 'processing', completed_at = NULL
     WHERE id IN (SELECT batch_id FROM requeued) AND batch_status <> 'processing'
)
INSERT INTO task_outbox (media_id, task_name, task_id, queue)
SELECT id, %(task_name)s, task_id, queue FROM requeued
RETURNING *
"""

_RETRY = _REQUEUE.format(selection=_FAILED_SELECTION,
                         reset="attempts = 0, retries = 0, error_code = NULL, error_message = NULL,")

# Queues are FIFO: a queued item published no earlier than the message next in line on its queue
# still waits in that queue. A long backlog is not a loss, so such an item is not published again.
_STUCK_SELECTION = """
SELECT id FROM media
 WHERE processing_status = ANY(%(stuck_states)s) AND updated_at < now() - %(stuck_after)s
   AND attempts < %(max_attempts)s
   AND NOT (processing_status = 'queued' AND coalesce(queued_at >= ANY (
        SELECT o.published_at
          FROM unnest(%(queues)s::text[], %(next_in_line)s::uuid[]) AS head(queue, task_id)
          JOIN task_outbox o ON o.task_id = head.task_id
         WHERE head.queue = media.queue AND o.published_at IS NOT NULL), false))
 ORDER BY updated_at
 LIMIT %(limit)s
"""

_SWEEP_REQUEUE = _REQUEUE.format(selection=_STUCK_SELECTION, reset="")

_SWEEP_GIVE_UP = """
UPDATE media
   SET processing_status = 'failed', error_code = %(code)s,
       error_message = 'gave up after ' || attempts || ' attempts; the last one never finished',
       completed_at = now(), updated_at = now()
 WHERE processing_status = ANY(%(stuck_states)s) AND updated_at < now() - %(stuck_after)s
   AND attempts >= %(max_attempts)s
RETURNING batch_id
"""

STUCK_STATES = (Status.QUEUED, Status.PROCESSING, Status.RETRYING)


def cancel_task(conn: psycopg.Connection, task_id: UUID, from_states: tuple[Status, ...]) -> Cancelled | None:
    """Cancel the item whose current task is `task_id` if it is in one of `from_states`."""
    params = {"task_id": task_id, "from_states": [s.value for s in from_states]}
    with conn.cursor(row_factory=class_row(Cancelled)) as cur:
        return cur.execute(_CANCEL, params).fetchone()


def _retry_params(flt: RetryFilter) -> dict:
    return {
        "voyage_slug": flt.voyage_slug,
        "media_kind": flt.media_kind,
        "error_code": flt.error_code,
        "include_permanent": flt.include_permanent,
        "permanent": [str(c) for c in PERMANENT_CODES],
        "limit": flt.limit,
        "task_name": tasks.GENERATE_DERIVATIVES,
    }


def retry_candidates(conn: psycopg.Connection, flt: RetryFilter) -> list[RetryCandidate]:
    """The failed items a retry with `flt` would pick (for a dry run)."""
    with conn.cursor(row_factory=class_row(RetryCandidate)) as cur:
        return cur.execute(_FAILED_SELECTION, _retry_params(flt)).fetchall()


def retry_failed(conn: psycopg.Connection, flt: RetryFilter) -> list[OutboxEntry]:
    """Requeue failed items matching `flt` under new task ids; returns the outbox entries to publish."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_RETRY, _retry_params(flt)).fetchall()


def _sweep_params(stuck_after: timedelta, max_attempts: int, limit: int,
                  next_in_line: dict[str, UUID] | None = None) -> dict:
    heads = next_in_line or {}
    return {
        "queues": list(heads),
        "next_in_line": list(heads.values()),
        "stuck_states": [s.value for s in STUCK_STATES],
        "stuck_after": stuck_after,
        "max_attempts": max_attempts,
        "limit": limit,
        "task_name": tasks.GENERATE_DERIVATIVES,
        "code": ErrorCode.MAX_ATTEMPTS.value,
    }


def give_up_stuck(conn: psycopg.Connection, stuck_after: timedelta, max_attempts: int) -> list[UUID | None]:
    """Fail stuck items that used every attempt (`max_attempts`); returns their batch ids."""
    rows = conn.execute(_SWEEP_GIVE_UP, _sweep_params(stuck_after, max_attempts, 0)).fetchall()
    return [row[0] for row in rows]


def requeue_stuck(conn: psycopg.Connection, stuck_after: timedelta, max_attempts: int,
                  limit: int = 1000, next_in_line: dict[str, UUID] | None = None) -> list[OutboxEntry]:
    """Give stuck items with attempts left a fresh task; returns the outbox entries to publish.

    `next_in_line` maps a queue to the task id of the message at its head, when known: queued items
    published since then are still in line and are left alone.
    """
    params = _sweep_params(stuck_after, max_attempts, limit, next_in_line)
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_SWEEP_REQUEUE, params).fetchall()
