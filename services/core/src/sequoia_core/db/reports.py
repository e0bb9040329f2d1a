"""Read-side SQL for the status endpoints: set-based, indexed, no Python loops over rows.

The API's hot reads are `async` (they run on its event loop: a threadpool hop costs more CPU than
their queries); the others, also used by workers, are sync."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from psycopg.rows import RowMaker, class_row
from psycopg.types.json import Jsonb

from sequoia_core import lifecycle
from sequoia_core.db.batches import BatchRow
from sequoia_core.db.media import MediaRow
from sequoia_core.lifecycle import ACTIVE_STATES, CLAIMABLE_STATES


@dataclass
class TaskLookup:
    """A task id's media item, and whether that task is still the item's current one."""

    media: MediaRow
    current: bool


@dataclass
class ActiveFilter:
    """Filters of the active-task listing."""

    voyage_slug: str | None = None
    queue: str | None = None
    media_kind: str | None = None
    state: str | None = None


@dataclass
class CountRow:
    """A count of items by state and kind."""

    processing_status: str
    media_kind: str
    count: int


@dataclass
class StaleCount:
    """Completed items of one kind rendered under other recipe versions than the current ones."""

    media_kind: str
    count: int


@dataclass
class FailedItem:
    """A failed item, briefly."""

    id: UUID
    original_filename: str
    media_kind: str
    error_code: str | None
    error_message: str | None
    updated_at: datetime


@dataclass
class KindWindowStats:
    """What finished in a time window, for one media kind."""

    media_kind: str
    completed: int
    failed: int
    p50_seconds: float | None
    p95_seconds: float | None


# The media row answers for its current task id (kept for good); the outbox, for a superseded one
# while its entry is kept (OUTBOX_RETENTION_HOURS: the pruner deletes older published entries).
_TASK = """
(SELECT m.*, true AS current FROM media m WHERE m.task_id = %(task_id)s)
UNION ALL
(SELECT m.*, false AS current
   FROM task_outbox o JOIN media m ON m.id = o.media_id
  WHERE o.task_id = %(task_id)s
  ORDER BY o.id DESC LIMIT 1)
ORDER BY current DESC
LIMIT 1
"""

_ACTIVE = """
SELECT * FROM media
 WHERE processing_status = ANY(%(states)s)
   AND (%(voyage_slug)s::text IS NULL OR voyage_slug = %(voyage_slug)s)
   AND (%(queue)s::text IS NULL OR queue = %(queue)s)
   AND (%(media_kind)s::text IS NULL OR media_kind = %(media_kind)s)
   AND (%(after_created)s::timestamptz IS NULL OR (created_at, id) < (%(after_created)s, %(after_id)s))
 ORDER BY created_at DESC, id DESC
 LIMIT %(limit)s
"""

# Kept by a trigger on `media` (media_state_counts_track): a handful of rows per voyage, whatever its size.
_COUNTS = """
SELECT processing_status, media_kind, sum(count)::int AS count FROM media_state_counts
 WHERE (%(voyage_slug)s::text IS NULL OR voyage_slug = %(voyage_slug)s)
 GROUP BY 1, 2 HAVING sum(count) > 0 ORDER BY 1, 2
"""

# Maintained by a trigger (migration 007): completed items by voyage, kind and recipe versions held.
_STALE = """
SELECT media_kind, sum(count)::int AS count FROM media_recipe_counts
 WHERE (%(voyage_slug)s::text IS NULL OR voyage_slug = %(voyage_slug)s)
   AND recipe_versions IS DISTINCT FROM (%(current)s::jsonb -> media_kind)
 GROUP BY 1 HAVING sum(count) > 0 ORDER BY 1
"""

_FAILED = """
SELECT id, original_filename, media_kind, error_code, error_message, updated_at FROM media
 WHERE voyage_slug = %s AND processing_status = 'failed'
 ORDER BY updated_at DESC LIMIT %s
"""

BATCH_LIMIT = 100  # the latest batches a voyage's status lists
_BATCHES = "SELECT * FROM async_task_batches WHERE voyage_slug = %s ORDER BY created_at DESC LIMIT %s"

_WINDOW = """
SELECT media_kind,
       count(*) FILTER (WHERE processing_status = 'completed')::int AS completed,
       count(*) FILTER (WHERE processing_status = 'failed')::int AS failed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))
           FILTER (WHERE processing_status = 'completed') AS p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))
           FILTER (WHERE processing_status = 'completed') AS p95_seconds
  FROM media
 WHERE completed_at >= now() - %s
 GROUP BY media_kind ORDER BY media_kind
"""

_OLDEST_WAITING = """
SELECT queue, extract(epoch FROM now() - min(coalesce(queued_at, created_at)))::float AS age
  FROM media WHERE processing_status = ANY(%s)
 GROUP BY queue
"""


def _task_lookup_row(cursor: psycopg.Cursor | psycopg.AsyncCursor) -> RowMaker[TaskLookup]:
    names = [column.name for column in cursor.description or ()]

    def make(values: Sequence) -> TaskLookup:
        fields = dict(zip(names, values))
        current = fields.pop("current")
        return TaskLookup(media=MediaRow(**fields), current=current)

    return make


def find_task(conn: psycopg.Connection, task_id: UUID) -> TaskLookup | None:
    """The media item a task id served (the latest one, if an id was ever reused)."""
    with conn.cursor(row_factory=_task_lookup_row) as cur:
        return cur.execute(_TASK, {"task_id": task_id}).fetchone()


async def find_task_async(conn: psycopg.AsyncConnection, task_id: UUID) -> TaskLookup | None:
    """`find_task` on the event loop."""
    async with conn.cursor(row_factory=_task_lookup_row) as cur:
        return await (await cur.execute(_TASK, {"task_id": task_id})).fetchone()


async def active_tasks(conn: psycopg.AsyncConnection, flt: ActiveFilter, after: tuple[datetime, UUID] | None,
                 limit: int) -> list[MediaRow]:
    """Active items newest first, after the keyset cursor `after`."""
    params = {
        "states": [flt.state] if flt.state else lifecycle.values(ACTIVE_STATES),
        "voyage_slug": flt.voyage_slug,
        "queue": flt.queue,
        "media_kind": flt.media_kind,
        "after_created": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit,
    }
    async with conn.cursor(row_factory=class_row(MediaRow)) as cur:
        return await (await cur.execute(_ACTIVE, params)).fetchall()


def counts(conn: psycopg.Connection, voyage_slug: str | None = None) -> list[CountRow]:
    """Items by state and media kind, for one voyage or all."""
    with conn.cursor(row_factory=class_row(CountRow)) as cur:
        return cur.execute(_COUNTS, {"voyage_slug": voyage_slug}).fetchall()


def stale_counts(conn: psycopg.Connection, current: dict[str, dict[str, str]],
                 voyage_slug: str | None = None) -> list[StaleCount]:
    """Stale items by kind (versions other than `current`, `recipes.current_versions`), one voyage or all."""
    with conn.cursor(row_factory=class_row(StaleCount)) as cur:
        return cur.execute(_STALE, {"voyage_slug": voyage_slug, "current": Jsonb(current)}).fetchall()


@dataclass
class VoyageSnapshot:
    """What the voyage status shows, read in one transaction."""

    counts: list[CountRow]
    stale: list[StaleCount]
    failed: list[FailedItem]
    batches: list[BatchRow]


async def voyage_snapshot(conn: psycopg.AsyncConnection, voyage_slug: str, current: dict[str, dict[str, str]],
                          failed_limit: int = 20) -> VoyageSnapshot:
    """Counts, stale counts (against the `current` recipe versions), latest failures and latest batches
    of one voyage in a single round trip: the queries go to Postgres as one pipeline, in the caller's
    transaction."""
    async with conn.pipeline():
        counts = await conn.cursor(row_factory=class_row(CountRow)).execute(_COUNTS, {"voyage_slug": voyage_slug})
        stale = await conn.cursor(row_factory=class_row(StaleCount)).execute(
            _STALE, {"voyage_slug": voyage_slug, "current": Jsonb(current)})
        failed = await conn.cursor(row_factory=class_row(FailedItem)).execute(_FAILED, (voyage_slug, failed_limit))
        batches = await conn.cursor(row_factory=class_row(BatchRow)).execute(_BATCHES, (voyage_slug, BATCH_LIMIT))
    return VoyageSnapshot(await counts.fetchall(), await stale.fetchall(), await failed.fetchall(),
                          await batches.fetchall())


def window_stats(conn: psycopg.Connection, window: timedelta) -> list[KindWindowStats]:
    """Completions, failures and runtime percentiles per media kind within `window`."""
    with conn.cursor(row_factory=class_row(KindWindowStats)) as cur:
        return cur.execute(_WINDOW, (window,)).fetchall()


def oldest_waiting_seconds(conn: psycopg.Connection) -> dict[str, float]:
    """Age of the oldest item still waiting for a worker, per queue."""
    return {queue: age for queue, age in conn.execute(_OLDEST_WAITING, (lifecycle.values(CLAIMABLE_STATES),)).fetchall()}


_VOYAGE_ITEMS = "SELECT * FROM media WHERE voyage_slug = %s ORDER BY created_at DESC, id DESC LIMIT %s"


async def voyage_items(conn: psycopg.AsyncConnection, voyage_slug: str, limit: int = 500) -> list[MediaRow]:
    """The voyage's most recent items in full."""
    async with conn.cursor(row_factory=class_row(MediaRow)) as cur:
        return await (await cur.execute(_VOYAGE_ITEMS, (voyage_slug, limit))).fetchall()
