"""SQL for the `media` table. Every state change is a guarded update: a late or duplicate
delivery matches no row and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from sequoia_core import lifecycle
from sequoia_core.db import batches
from sequoia_core.db.metrics import FACTS_COLUMNS, ItemFacts
from sequoia_core.lifecycle import CLAIMABLE_STATES, HELD_STATES


@dataclass
class NewMedia:
    """What ingest knows about an item before it is stored."""

    id: UUID
    voyage_slug: str
    batch_id: UUID | None
    media_kind: str
    media_format: str
    original_filename: str
    content_type: str
    size_bytes: int
    checksum_sha256: str | None
    original_key: str
    task_id: UUID
    queue: str
    priority: str


@dataclass
class MediaRow(NewMedia):
    """One media item as stored: what ingest knew, plus its processing state and history."""

    processing_status: str
    attempts: int
    retries: int
    error_code: str | None
    error_message: str | None
    derivatives: list[dict[str, Any]]
    metadata: dict[str, Any]
    worker: str | None
    worker_pid: int | None
    run_token: UUID | None
    thumbhash: bytes | None
    recipe_versions: dict[str, str] | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime


_INSERT = """
INSERT INTO media (id, voyage_slug, batch_id, media_kind, media_format, original_filename, content_type,
                   size_bytes, checksum_sha256, original_key, task_id, queue, priority)
VALUES (%(id)s, %(voyage_slug)s, %(batch_id)s, %(media_kind)s, %(media_format)s, %(original_filename)s,
        %(content_type)s, %(size_bytes)s, %(checksum_sha256)s, %(original_key)s, %(task_id)s, %(queue)s,
        %(priority)s)
"""

_GET = "SELECT * FROM media WHERE id = %s"
# `dedupe=sha256` at ingest (media_voyage_checksum_idx): a live item first, the oldest of those.
_FIND_BY_CHECKSUM = """
SELECT * FROM media WHERE voyage_slug = %s AND checksum_sha256 = %s
 ORDER BY processing_status = 'cancelled', created_at
 LIMIT 1
"""

_MARK_QUEUED = """
UPDATE media SET processing_status = 'queued', queued_at = now(), updated_at = now()
 WHERE id = %s AND task_id = %s AND processing_status = 'pending'
"""

# A worker claims an item before rendering, under a run token of its delivery. A retry carries the
# token of the run it retries and continues that run (`retries`): after a transient error it recorded
# (`retrying`), or one it could not record because Postgres was away (item left `processing`).
# Any other claim starts a new run (`attempts`) with its own token: from a waiting state, or from
# `processing` once `stale_after` has passed (redelivery after a crash) or under `dead_run`, a run the
# caller knows is dead (its pool process, on the caller's own node, is gone). A delivery that finds the
# item `retrying` or `processing` under another run skips: that run is alive, or the sweeper reclaims
# it when its worker is gone. None starts past `max_attempts`: a file that kills its worker every
# time stops there.
_CLAIM = """
WITH target AS (
    SELECT id, (run_token IS NOT DISTINCT FROM %(run)s AND processing_status = ANY(%(held)s)) AS continues
      FROM media WHERE id = %(id)s AND task_id = %(task_id)s
)
UPDATE media m
   SET processing_status = 'processing',
       attempts = m.attempts + (NOT t.continues)::int,
       retries = m.retries + t.continues::int,
       run_token = %(run)s, started_at = now(), worker = %(worker)s, worker_pid = %(worker_pid)s,
       updated_at = now()
  FROM target t
 WHERE m.id = t.id
   AND (t.continues
        OR (m.attempts < %(max_attempts)s
            AND (m.processing_status = ANY(%(claimable)s)
                 OR (m.processing_status = 'processing'
                     AND (m.started_at < now() - %(stale_after)s OR m.run_token = %(dead_run)s)))))
RETURNING m.*
"""

# A run that ends its item locks the item's batch row in the same statement, so its batch's
# finalisation (`batches.finalize_locked`, the next statement) counts the items in a snapshot taken
# after the lock, as `batches.finalize_if_done` does after a lock of its own: one round trip less.
# Returns the item's batch, whether its row was locked, and for the metrics the item's facts as the
# update leaves them.
_END_RUN = """
WITH ended AS (
    UPDATE media
       SET {changes}, completed_at = now(), updated_at = now()
     WHERE id = %(id)s AND task_id = %(task_id)s AND run_token = %(run)s AND processing_status = 'processing'
    RETURNING batch_id, {facts}
)
SELECT ended.*, locked.id IS NOT NULL AS batch_locked
  FROM ended
  LEFT JOIN LATERAL (SELECT id FROM async_task_batches WHERE id = ended.batch_id FOR UPDATE) AS locked ON true
"""

_COMPLETE = _END_RUN.format(
    changes="""processing_status = 'completed', derivatives = %(derivatives)s, metadata = metadata || %(metadata)s,
       thumbhash = %(thumbhash)s, recipe_versions = %(recipe_versions)s,
       error_code = NULL, error_message = NULL""",
    facts=FACTS_COLUMNS)

_FAIL = _END_RUN.format(changes="processing_status = 'failed', error_code = %(code)s, error_message = %(message)s",
                        facts=FACTS_COLUMNS)

_RETRYING = """
UPDATE media
   SET processing_status = 'retrying', error_code = %(code)s, error_message = %(message)s, updated_at = now()
 WHERE id = %(id)s AND task_id = %(task_id)s AND run_token = %(run)s AND processing_status = 'processing'
"""

# Locks the row: while the caller's transaction lasts, no other run can claim the item.
_LOCK_UNFINISHED_RUN = """
SELECT 1 FROM media
 WHERE id = %(id)s AND task_id = %(task_id)s AND processing_status <> 'completed'
   AND NOT (processing_status = ANY(%(held)s) AND run_token IS DISTINCT FROM %(run)s)
   FOR UPDATE
"""


def insert_media(conn: psycopg.Connection, item: NewMedia) -> None:
    """Insert a new item in `pending`; the caller writes its outbox row in the same transaction."""
    conn.execute(_INSERT, item.__dict__)


def get_media(conn: psycopg.Connection, media_id: UUID) -> MediaRow | None:
    """One item, or None."""
    with conn.cursor(row_factory=class_row(MediaRow)) as cur:
        return cur.execute(_GET, (media_id,)).fetchone()


def find_by_checksum(conn: psycopg.Connection, voyage_slug: str, checksum_sha256: str) -> MediaRow | None:
    """An item of the voyage whose original has this SHA-256 (an uncancelled one first), or None."""
    with conn.cursor(row_factory=class_row(MediaRow)) as cur:
        return cur.execute(_FIND_BY_CHECKSUM, (voyage_slug, checksum_sha256)).fetchone()


def mark_queued(conn: psycopg.Connection, media_id: UUID, task_id: UUID) -> bool:
    """`pending` → `queued` once its task is on the broker."""
    return conn.execute(_MARK_QUEUED, (media_id, task_id)).rowcount == 1


@dataclass(frozen=True)
class Run:
    """One run of an item: the task it belongs to and the token its claim gave it."""

    media_id: UUID
    task_id: UUID
    token: UUID

    def params(self) -> dict[str, UUID]:
        """The guard every transition of this run checks."""
        return {"id": self.media_id, "task_id": self.task_id, "run": self.token}


def claim_for_processing(
    conn: psycopg.Connection, run: Run, worker: str, worker_pid: int, stale_after: timedelta, max_attempts: int,
    dead_run: UUID | None = None,
) -> MediaRow | None:
    """Claim an item for `run`; None when it is not this delivery's to run (done, cancelled, superseded,
    held by another run, or out of attempts: the sweeper then fails it with `max_attempts`). A retry
    passes the token of the run it retries, and continues that run if it still holds the item."""
    params = {
        **run.params(),
        "worker": worker,
        "worker_pid": worker_pid,
        "claimable": lifecycle.values(CLAIMABLE_STATES),
        "held": lifecycle.values(HELD_STATES),
        "stale_after": stale_after,
        "max_attempts": max_attempts,
        "dead_run": dead_run,
    }
    with conn.cursor(row_factory=class_row(MediaRow)) as cur:
        return cur.execute(_CLAIM, params).fetchone()


def complete(
    conn: psycopg.Connection, run: Run, derivatives: list[dict[str, Any]], metadata: dict[str, Any],
    thumbhash: bytes | None = None, recipe_versions: dict[str, str] | None = None,
) -> UUID | None | bool:
    """`processing` → `completed` with what the run made (its placeholder, and the recipe versions it
    followed: None counts as stale), finalising the batch if this was its last open item; returns the
    batch id (None for none), or False if not this run's."""
    ended = complete_run(conn, run, derivatives, metadata, thumbhash, recipe_versions)
    return False if ended is None else ended.batch_id


@dataclass(frozen=True)
class Ended:
    """A run that ended its item: the item's batch (None for none) and its facts as the run left it."""

    batch_id: UUID | None
    facts: ItemFacts


def complete_run(
    conn: psycopg.Connection, run: Run, derivatives: list[dict[str, Any]], metadata: dict[str, Any],
    thumbhash: bytes | None = None, recipe_versions: dict[str, str] | None = None,
) -> Ended | None:
    """`complete`, returning the item's facts with its batch (None if not this run's): the metrics
    need no read of their own."""
    params = {**run.params(), "derivatives": Jsonb(derivatives), "metadata": Jsonb(metadata),
              "thumbhash": thumbhash, "recipe_versions": None if recipe_versions is None else Jsonb(recipe_versions)}
    return _ended(conn, conn.execute(_COMPLETE, params).fetchone())


def lock_unfinished_run(conn: psycopg.Connection, run: Run) -> bool:
    """Whether the item is still this task's, not completed and held by no other run, its row then
    locked until the caller's transaction ends (what a refused run may remove under the item's keys
    belongs to no other run)."""
    params = {**run.params(), "held": lifecycle.values(HELD_STATES)}
    return conn.execute(_LOCK_UNFINISHED_RUN, params).fetchone() is not None


def fail(conn: psycopg.Connection, run: Run, code: str, message: str) -> UUID | None | bool:
    """`processing` → `failed` with a stable code, finalising the batch if this was its last open item;
    returns the batch id (None for none), or False if not this run's."""
    ended = fail_run(conn, run, code, message)
    return False if ended is None else ended.batch_id


def fail_run(conn: psycopg.Connection, run: Run, code: str, message: str) -> Ended | None:
    """`fail`, returning the item's facts with its batch (None if not this run's)."""
    params = {**run.params(), "code": code, "message": message[:2000]}
    return _ended(conn, conn.execute(_FAIL, params).fetchone())


def _ended(conn: psycopg.Connection, row: tuple[Any, ...] | None) -> Ended | None:
    if row is None:
        return None
    batch_id, *facts, batch_locked = row
    if batch_locked:
        batches.finalize_locked(conn, batch_id)
    return Ended(batch_id, ItemFacts(*facts))


def mark_retrying(conn: psycopg.Connection, run: Run, code: str, message: str) -> bool:
    """`processing` → `retrying`, keeping the last error visible."""
    params = {**run.params(), "code": code, "message": message[:2000]}
    return conn.execute(_RETRYING, params).rowcount == 1


@dataclass
class BatchItem:
    """The short view of an item in a batch listing."""

    id: UUID
    original_filename: str
    media_kind: str
    processing_status: str
    error_code: str | None


_LIST_BATCH = """
SELECT id, original_filename, media_kind, processing_status, error_code
  FROM media WHERE batch_id = %s ORDER BY created_at, id
"""


def list_batch_items(conn: psycopg.Connection, batch_id: UUID) -> list[BatchItem]:
    """Every item of a batch, in upload order."""
    with conn.cursor(row_factory=class_row(BatchItem)) as cur:
        return cur.execute(_LIST_BATCH, (batch_id,)).fetchall()
