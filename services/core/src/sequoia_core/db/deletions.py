"""SQL for deleting items: the media rows go in the caller's transaction and `media_deletions`
remembers, per item, what S3 may still hold until the media worker confirms it is gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass
class Removed:
    """An item a delete request removed: what ran for it, to cancel, and its batch, to finalise."""

    media_id: UUID
    task_id: UUID
    batch_id: UUID | None
    previous_status: str


@dataclass
class Deletion:
    """The S3 side of one deleted item, pending until `completed_at`."""

    media_id: UUID
    voyage_slug: str
    task_id: UUID
    held_worker: str | None
    held_pid: int | None
    held_since: datetime | None
    requested_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    removed_objects: int
    completed_at: datetime | None


# One statement: the rows go (a later claim or completion of any run matches nothing) and each leaves
# its deletion row. A render running now is remembered (`held_*`): until it can no longer write, the
# deleter does not call the item's keys gone. Repeating it finds no row and changes nothing.
_REMOVE = """
WITH gone AS (
    DELETE FROM media WHERE {where}
    RETURNING id, voyage_slug, task_id, batch_id, processing_status, worker, worker_pid, started_at
),
recorded AS (
    INSERT INTO media_deletions (media_id, voyage_slug, task_id, held_worker, held_pid, held_since)
    SELECT id, voyage_slug, task_id,
           CASE WHEN processing_status = 'processing' THEN worker END,
           CASE WHEN processing_status = 'processing' THEN worker_pid END,
           CASE WHEN processing_status = 'processing' THEN started_at END
      FROM gone
    ON CONFLICT (media_id) DO NOTHING
)
SELECT id AS media_id, task_id, batch_id, processing_status AS previous_status FROM gone
"""

_REMOVE_ITEM = _REMOVE.format(where="id = %(id)s")
_REMOVE_VOYAGE = _REMOVE.format(where="voyage_slug = %(voyage)s")
_REMOVE_VOYAGE_BATCHES = "DELETE FROM async_task_batches WHERE voyage_slug = %s"

_GET = "SELECT * FROM media_deletions WHERE media_id = %s"

_VOYAGE_PROGRESS = """
SELECT count(*) FILTER (WHERE completed_at IS NULL), count(*) FILTER (WHERE completed_at IS NOT NULL)
  FROM media_deletions WHERE voyage_slug = %s
"""

# A lease, not a long transaction: the rows taken are due again only after `lease`, so a deleter that
# died mid-pass leaves them to a later pass, and two deleters never work on the same row at once.
_TAKE_DUE = """
UPDATE media_deletions d SET next_attempt_at = now() + %(lease)s
  FROM (SELECT media_id FROM media_deletions
         WHERE completed_at IS NULL AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) due
 WHERE d.media_id = due.media_id
RETURNING d.*
"""

_DONE = """
UPDATE media_deletions SET completed_at = now(), removed_objects = removed_objects + %(removed)s, last_error = NULL
 WHERE media_id = %(id)s
"""

_LATER = """
UPDATE media_deletions
   SET next_attempt_at = now() + %(delay)s, removed_objects = removed_objects + %(removed)s,
       attempts = attempts + %(failed)s::int, last_error = %(error)s
 WHERE media_id = %(id)s
"""


_PRUNE = """
DELETE FROM media_deletions WHERE media_id IN (
    SELECT media_id FROM media_deletions WHERE completed_at < now() - %(retention)s LIMIT %(limit)s)
"""


def remove_item(conn: psycopg.Connection, media_id: UUID) -> Removed | None:
    """Delete one item's row and record its deletion; None if there is no such row (any more)."""
    with conn.cursor(row_factory=class_row(Removed)) as cur:
        return cur.execute(_REMOVE_ITEM, {"id": media_id}).fetchone()


def remove_voyage(conn: psycopg.Connection, voyage_slug: str) -> list[Removed]:
    """Delete every item and batch of a voyage and record each item's deletion."""
    with conn.cursor(row_factory=class_row(Removed)) as cur:
        removed = cur.execute(_REMOVE_VOYAGE, {"voyage": voyage_slug}).fetchall()
    conn.execute(_REMOVE_VOYAGE_BATCHES, (voyage_slug,))
    return removed


def get_deletion(conn: psycopg.Connection, media_id: UUID) -> Deletion | None:
    """The deletion of one item, or None if it was never deleted."""
    with conn.cursor(row_factory=class_row(Deletion)) as cur:
        return cur.execute(_GET, (media_id,)).fetchone()


def voyage_progress(conn: psycopg.Connection, voyage_slug: str) -> tuple[int, int]:
    """How many of a voyage's deleted items S3 still holds (pending) and how many are gone (done)."""
    pending, done = conn.execute(_VOYAGE_PROGRESS, (voyage_slug,)).fetchone()
    return pending, done


def take_due(conn: psycopg.Connection, limit: int, lease: timedelta) -> list[Deletion]:
    """Up to `limit` pending deletions that are due, leased to the caller for `lease`."""
    with conn.cursor(row_factory=class_row(Deletion)) as cur:
        return cur.execute(_TAKE_DUE, {"limit": limit, "lease": lease}).fetchall()


def mark_done(conn: psycopg.Connection, media_id: UUID, removed: int) -> None:
    """S3 holds nothing of the item and nothing can write there any more."""
    conn.execute(_DONE, {"id": media_id, "removed": removed})


def mark_later(conn: psycopg.Connection, media_id: UUID, delay: timedelta, removed: int,
               error: str | None = None) -> None:
    """Look again after `delay`: after a failure (`error`, counted as an attempt), or while a render
    that held the item may still write."""
    conn.execute(_LATER, {"id": media_id, "delay": delay, "removed": removed, "failed": error is not None,
                          "error": error})


def prune_done(conn: psycopg.Connection, retention: timedelta, limit: int) -> int:
    """Forget up to `limit` deletions done longer ago than `retention`; how many."""
    return conn.execute(_PRUNE, {"retention": retention, "limit": limit}).rowcount
