"""Set-based transitions that start, stop or restart items: cancel, retry of failed items, and the
sweeper's requeue of stuck ones. Each writes its outbox rows in the caller's transaction, and each
that ends items finalises their batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from sequoia_core import lifecycle, tasks
from sequoia_core.db import batches
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.errors import PERMANENT_CODES, ErrorCode
from sequoia_core.lifecycle import (HELD_STATES, ON_BROKER_STATES, RETRYABLE_STATES, STUCK_STATES, BatchStatus,
                                    Status)
from sequoia_core.queues import Priority, queue_for


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
 WHERE processing_status = ANY(%(retryable)s)
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
    RETURNING m.id, m.task_id, m.queue, m.priority, m.batch_id
),
reopened AS (
    UPDATE async_task_batches SET batch_status = '{processing}', completed_at = NULL
     WHERE id IN (SELECT batch_id FROM requeued) AND batch_status <> '{processing}'
)
INSERT INTO task_outbox (media_id, task_name, task_id, queue, priority)
SELECT id, %(task_name)s, task_id, queue, priority FROM requeued
RETURNING *
"""


def _requeue(selection: str, reset: str) -> str:
    return _REQUEUE.format(selection=selection, reset=reset, processing=BatchStatus.PROCESSING)


# A bulk retry is backfill work: it waits behind fresh ingest (docs/priorities.md).
_RETRY = _requeue(selection=_FAILED_SELECTION,
                  reset="attempts = 0, retries = 0, error_code = NULL, error_message = NULL, "
                        "priority = %(priority)s, queue = %(queue)s,")

# Completed items whose recipe versions differ from the current ones of their kind (NULL: rendered
# before recipes had versions). A requeued item is `pending` until rendered again, then holds the
# current versions: either way a second pick finds it no more.
_STALE_SELECTION = """
SELECT id, voyage_slug, media_kind, recipe_versions FROM media
 WHERE processing_status = 'completed'
   AND (%(voyage_slug)s::text IS NULL OR voyage_slug = %(voyage_slug)s)
   AND (%(media_kind)s::text IS NULL OR media_kind = %(media_kind)s)
   AND recipe_versions IS DISTINCT FROM (%(current)s::jsonb -> media_kind)
 ORDER BY updated_at, id
 LIMIT %(limit)s
"""

# Re-rendering is backfill work too: it waits behind fresh ingest.
_RERENDER = _requeue(selection=_STALE_SELECTION,
                     reset="attempts = 0, retries = 0, priority = %(priority)s, queue = %(queue)s,")

# Queues are FIFO: a queued item published no earlier than the message next in line on its queue
# still waits in that queue. A long backlog is not a loss, so such an item is not published again.
_IN_LINE = """processing_status = 'queued' AND coalesce(queued_at >= ANY (
        SELECT o.published_at
          FROM unnest(%(queues)s::text[], %(next_in_line)s::uuid[]) AS head(queue, task_id)
          JOIN task_outbox o ON o.task_id = head.task_id
         WHERE head.queue = media.queue AND o.published_at IS NOT NULL), false)"""

_STUCK_SELECTION = f"""
SELECT id FROM media
 WHERE processing_status = ANY(%(stuck_states)s) AND updated_at < now() - %(stuck_after)s
   AND attempts < %(max_attempts)s
   AND NOT ({_IN_LINE})
 ORDER BY updated_at
 LIMIT %(limit)s
"""

_SWEEP_REQUEUE = _requeue(selection=_STUCK_SELECTION, reset="")

_GIVE_UP = """
UPDATE media
   SET processing_status = 'failed', error_code = %(code)s,
       error_message = 'gave up after ' || attempts || ' attempts; the last one never finished',
       completed_at = now(), updated_at = now()
 WHERE {where} AND attempts >= %(max_attempts)s
RETURNING batch_id
"""

_SWEEP_GIVE_UP = _GIVE_UP.format(where="processing_status = ANY(%(stuck_states)s) AND updated_at < now() - %(stuck_after)s")

# Recovery (sequoia_media/recovery.py) names the items whose run or message is lost; each is taken
# only if it is still in a state it was seen in and untouched since (it did not move on meanwhile).
_STILL_LOST = "id = ANY(%(ids)s) AND processing_status = ANY(%(from_states)s) AND updated_at < now() - %(quiet_for)s"
_RECLAIM = _requeue(selection=f"SELECT id FROM media WHERE {_STILL_LOST} AND attempts < %(max_attempts)s",
                    reset="")
_RECLAIM_GIVE_UP = _GIVE_UP.format(where=_STILL_LOST)

_HELD = """
SELECT id, task_id, processing_status, worker, worker_pid, extract(epoch FROM started_at)::float8 AS claimed_at,
       extract(epoch FROM now() - updated_at)::float8 AS quiet_seconds FROM media
 WHERE processing_status = ANY(%(states)s) AND worker IS NOT NULL AND updated_at < now() - %(quiet_for)s
"""

_WAITING = """
SELECT id, task_id, processing_status, NULL AS worker, NULL::int AS worker_pid, 0::float8 AS claimed_at,
       extract(epoch FROM now() - updated_at)::float8 AS quiet_seconds FROM media
 WHERE processing_status = ANY(%(states)s) AND updated_at < now() - %(quiet_for)s AND queue = ANY(%(queues)s)
   AND (%(task_ids)s::uuid[] IS NULL OR task_id = ANY(%(task_ids)s))
"""

# Items whose published task should have a message on the broker, quiet for a while, apart from queued
# ones still in line: recovery looks for their messages (a delivery acked without its retry has none).
_UNSEEN = f"""
SELECT id, task_id, processing_status, NULL AS worker, NULL::int AS worker_pid, 0::float8 AS claimed_at,
       extract(epoch FROM now() - updated_at)::float8 AS quiet_seconds FROM media
 WHERE processing_status = ANY(%(states)s) AND updated_at < now() - %(quiet_for)s AND queue = ANY(%(lanes)s)
   AND EXISTS (SELECT 1 FROM task_outbox o WHERE o.task_id = media.task_id AND o.published_at IS NOT NULL)
   AND NOT ({_IN_LINE})
"""


@dataclass
class StaleFilter:
    """Which stale items to render again, against which recipe versions (`recipes.current_versions`)."""

    current: dict[str, dict[str, str]]
    voyage_slug: str | None = None
    media_kind: str | None = None
    limit: int = 100


@dataclass
class StaleItem:
    """A completed item rendered under other recipe versions than the current ones."""

    id: UUID
    voyage_slug: str
    media_kind: str
    recipe_versions: dict[str, str] | None


@dataclass
class OpenItem:
    """An item in an open state: its current task, and who holds its run if one was claimed."""

    id: UUID
    task_id: UUID
    processing_status: str
    worker: str | None
    worker_pid: int | None
    claimed_at: float
    quiet_seconds: float


def cancel_task(conn: psycopg.Connection, task_id: UUID, from_states: tuple[Status, ...]) -> Cancelled | None:
    """Cancel the item whose current task is `task_id` if it is in one of `from_states` (and finalise
    its batch if this was its last open item)."""
    params = {"task_id": task_id, "from_states": lifecycle.values(from_states)}
    with conn.cursor(row_factory=class_row(Cancelled)) as cur:
        cancelled = cur.execute(_CANCEL, params).fetchone()
    if cancelled is not None:
        batches.finalize_all(conn, [cancelled.batch_id])
    return cancelled


def _retry_params(flt: RetryFilter) -> dict:
    return {
        "voyage_slug": flt.voyage_slug,
        "media_kind": flt.media_kind,
        "error_code": flt.error_code,
        "include_permanent": flt.include_permanent,
        "permanent": [str(c) for c in PERMANENT_CODES],
        "retryable": lifecycle.values(RETRYABLE_STATES),
        "limit": flt.limit,
        "task_name": tasks.GENERATE_DERIVATIVES,
        "priority": Priority.BACKFILL.value,
        "queue": queue_for(tasks.GENERATE_DERIVATIVES, Priority.BACKFILL).value,
    }


def retry_candidates(conn: psycopg.Connection, flt: RetryFilter) -> list[RetryCandidate]:
    """The failed items a retry with `flt` would pick (for a dry run)."""
    with conn.cursor(row_factory=class_row(RetryCandidate)) as cur:
        return cur.execute(_FAILED_SELECTION, _retry_params(flt)).fetchall()


def retry_failed(conn: psycopg.Connection, flt: RetryFilter) -> list[OutboxEntry]:
    """Requeue failed items matching `flt` under new task ids, as backfill; returns the outbox entries
    to publish."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_RETRY, _retry_params(flt)).fetchall()


def _stale_params(flt: StaleFilter) -> dict:
    return {"voyage_slug": flt.voyage_slug, "media_kind": flt.media_kind, "current": Jsonb(flt.current),
            "limit": flt.limit, "task_name": tasks.GENERATE_DERIVATIVES, "priority": Priority.BACKFILL.value,
            "queue": queue_for(tasks.GENERATE_DERIVATIVES, Priority.BACKFILL).value}


def stale_items(conn: psycopg.Connection, flt: StaleFilter) -> list[StaleItem]:
    """The stale items a re-render with `flt` would pick (for a dry run)."""
    with conn.cursor(row_factory=class_row(StaleItem)) as cur:
        return cur.execute(_STALE_SELECTION, _stale_params(flt)).fetchall()


def rerender_stale(conn: psycopg.Connection, flt: StaleFilter) -> list[OutboxEntry]:
    """Requeue stale items matching `flt` under new task ids, as backfill (their derivatives stay until
    replaced); returns the outbox entries to publish."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_RERENDER, _stale_params(flt)).fetchall()


def _sweep_params(stuck_after: timedelta, max_attempts: int, limit: int,
                  next_in_line: dict[str, UUID] | None = None) -> dict:
    heads = next_in_line or {}
    return {
        "queues": list(heads),
        "next_in_line": list(heads.values()),
        "stuck_states": lifecycle.values(STUCK_STATES),
        "stuck_after": stuck_after,
        "max_attempts": max_attempts,
        "limit": limit,
        "task_name": tasks.GENERATE_DERIVATIVES,
        "code": ErrorCode.MAX_ATTEMPTS.value,
    }


def give_up_stuck(conn: psycopg.Connection, stuck_after: timedelta, max_attempts: int) -> list[UUID | None]:
    """Fail stuck items that used every attempt (`max_attempts`) and finalise their batches; returns
    their batch ids."""
    batch_ids = [row[0] for row in conn.execute(_SWEEP_GIVE_UP, _sweep_params(stuck_after, max_attempts, 0))]
    batches.finalize_all(conn, batch_ids)
    return batch_ids


def requeue_stuck(conn: psycopg.Connection, stuck_after: timedelta, max_attempts: int,
                  limit: int = 1000, next_in_line: dict[str, UUID] | None = None) -> list[OutboxEntry]:
    """Give stuck items with attempts left a fresh task; returns the outbox entries to publish.

    `next_in_line` maps a queue to the task id of the message at its head, when known: queued items
    published since then are still in line and are left alone.
    """
    params = _sweep_params(stuck_after, max_attempts, limit, next_in_line)
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_SWEEP_REQUEUE, params).fetchall()


def held_items(conn: psycopg.Connection, quiet_for: timedelta) -> list[OpenItem]:
    """Items a worker holds (`processing`, or `retrying` with the retry in its hands), untouched for `quiet_for`."""
    params = {"states": lifecycle.values(HELD_STATES), "quiet_for": quiet_for}
    with conn.cursor(row_factory=class_row(OpenItem)) as cur:
        return cur.execute(_HELD, params).fetchall()


def waiting_items(conn: psycopg.Connection, queues: tuple[str, ...], states: tuple[Status, ...],
                  quiet_for: timedelta, task_ids: set[UUID] | None = None) -> list[OpenItem]:
    """Items of `queues` in `states` whose message should be on the broker, untouched for `quiet_for`
    (only those of `task_ids`, when given)."""
    params = {"states": lifecycle.values(states), "queues": list(queues), "quiet_for": quiet_for,
              "task_ids": None if task_ids is None else list(task_ids)}
    with conn.cursor(row_factory=class_row(OpenItem)) as cur:
        return cur.execute(_WAITING, params).fetchall()


def unseen_items(conn: psycopg.Connection, lanes: tuple[str, ...], quiet_for: timedelta,
                 next_in_line: dict[str, UUID]) -> list[OpenItem]:
    """Items of `lanes` waiting for their published task's message (`ON_BROKER_STATES`), untouched for
    `quiet_for`, apart from queued ones published no earlier than the message at the head of their lane
    (`next_in_line`: queue → task id), which still wait in line."""
    params = {"states": lifecycle.values(ON_BROKER_STATES), "lanes": list(lanes), "quiet_for": quiet_for,
              "queues": list(next_in_line), "next_in_line": list(next_in_line.values())}
    with conn.cursor(row_factory=class_row(OpenItem)) as cur:
        return cur.execute(_UNSEEN, params).fetchall()


def reclaim(conn: psycopg.Connection, ids: list[UUID], from_states: tuple[Status, ...],
            quiet_for: timedelta, max_attempts: int) -> tuple[list[OutboxEntry], list[UUID | None]]:
    """Give lost items a fresh task id (a late delivery of the old one then matches nothing), or fail
    those out of attempts with `max_attempts` (finalising their batches). Returns the outbox entries to
    publish and the batch ids of the failed items."""
    params = {**_sweep_params(timedelta(0), max_attempts, 0), "ids": ids,
              "from_states": lifecycle.values(from_states), "quiet_for": quiet_for}
    given_up = [row[0] for row in conn.execute(_RECLAIM_GIVE_UP, params)]
    batches.finalize_all(conn, given_up)
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_RECLAIM, params).fetchall(), given_up
