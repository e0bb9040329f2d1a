"""The deleter: what S3 holds of deleted items goes, on beat, retried with backoff until S3 confirms.

For each pending deletion (`media_deletions`, written by the API's DELETE calls) one pass removes
everything under `originals/<voyage>/<id>/` and `derivatives/<voyage>/<id>/` (DeleteObjects in
batches of 1000), then lists both prefixes again. The deletion is done only when that listing is
empty and no render that held the item when it was deleted can still write: its pool process is gone
from its worker's heartbeat (a revoke with terminate killed it), or its hard time limit has passed.
Until then the deletion is looked at again every pass, so derivatives a late render uploads after a
pass (its completion is refused: the row is gone) are removed too. A failure (S3 away) is recorded on
the row and retried with exponential backoff; nothing gives up. Finished deletions are forgotten
after DELETION_RETENTION_HOURS (a repeated DELETE then answers 404, as for an item never seen).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from psycopg_pool import ConnectionPool
from redis import Redis

from sequoia_core import broker, liveness
from sequoia_core.backoff import retry_countdown
from sequoia_core.db import deletions
from sequoia_core.db.deletions import Deletion
from sequoia_core.db.pool import transaction
from sequoia_core.errors import BrokerUnavailable, ErrorCode, TransientError
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage

log = logging.getLogger(__name__)

BATCH = 100  # deletions taken per round of a pass
LEASE = timedelta(minutes=5)  # far above one round: two prefixes listed twice, removed once
PRUNE_BATCH = 1000  # finished deletions forgotten per pass, past DELETION_RETENTION_HOURS


@dataclass(frozen=True)
class DeletionPass:
    """What one pass did."""

    done: int = 0
    waiting: int = 0
    failed: int = 0


def prefixes(deletion: Deletion) -> tuple[str, str]:
    """Every key of the item lives under one of these."""
    return (f"originals/{deletion.voyage_slug}/{deletion.media_id}/",
            f"derivatives/{deletion.voyage_slug}/{deletion.media_id}/")


def remove_deleted(pool: ConnectionPool, storage: Storage, client: Redis, settings: Settings,
                   budget_seconds: float) -> DeletionPass:
    """Work off due deletions in rounds until none is due or `budget_seconds` have gone."""
    deadline = time.monotonic() + budget_seconds
    total = DeletionPass()
    while time.monotonic() < deadline:
        with transaction(pool) as conn:
            due = deletions.take_due(conn, BATCH, LEASE)
        if not due:
            break
        result = _round(pool, storage, client, settings, due)
        total = DeletionPass(total.done + result.done, total.waiting + result.waiting, total.failed + result.failed)
        if result.failed:
            break  # S3 failed: the next tick tries again, after the backoff
    with transaction(pool) as conn:
        deletions.prune_done(conn, timedelta(hours=settings.deletion_retention_hours), PRUNE_BATCH)
    if total != DeletionPass():
        log.info("deleter: %d item(s) gone from S3, %d wait for a render to end, %d failed (retried later)",
                 total.done, total.waiting, total.failed)
    return total


def _round(pool: ConnectionPool, storage: Storage, client: Redis, settings: Settings,
           due: list[Deletion]) -> DeletionPass:
    # Judged before removing: a render dead now writes nothing after the listing that confirms.
    writing = _still_writing(client, settings, due)
    done = waiting = 0
    for index, deletion in enumerate(due):
        removed = 0
        try:
            removed = sum(storage.delete_prefix(prefix) for prefix in prefixes(deletion))
            left = [obj.key for prefix in prefixes(deletion) for obj in storage.iter_objects(prefix)]
            if left:
                raise TransientError(f"{len(left)} object(s) still listed, e.g. {left[0]}",
                                     code=ErrorCode.STORAGE_UNAVAILABLE)
        except TransientError as err:
            _fail(pool, settings, deletion, removed, err, untried=due[index + 1:])
            return DeletionPass(done, waiting, failed=1)
        with transaction(pool) as conn:
            if deletion.media_id in writing:
                deletions.mark_later(conn, deletion.media_id, timedelta(seconds=settings.deletion_interval_seconds),
                                     removed)
                waiting += 1
            else:
                deletions.mark_done(conn, deletion.media_id, removed)
                done += 1
    return DeletionPass(done, waiting, 0)


def _fail(pool: ConnectionPool, settings: Settings, deletion: Deletion, removed: int, err: TransientError,
          untried: list[Deletion]) -> None:
    """Record the failure and back off; the rest of the round is not tried now (S3 is most likely away
    for them too) and waits as long, without counting an attempt."""
    delay = timedelta(seconds=retry_countdown(deletion.attempts, settings.task_retry_backoff_seconds,
                                              settings.task_retry_backoff_max_seconds))
    log.warning("deleter: media %s not yet gone from S3 (attempt %d, again in %.0f s; %d more wait): %s",
                deletion.media_id, deletion.attempts + 1, delay.total_seconds(), len(untried), err.message)
    with transaction(pool) as conn:
        deletions.mark_later(conn, deletion.media_id, delay, removed, f"{err.code}: {err.message}")
        for other in untried:
            deletions.mark_later(conn, other.media_id, delay, 0)


def _still_writing(client: Redis, settings: Settings, due: list[Deletion]) -> set[UUID]:
    """The items whose render, running when they were deleted, may still upload: its hard time
    limit has not passed and its worker's heartbeat still lists its pool process (or cannot be read)."""
    now = datetime.now(UTC)
    limit = timedelta(seconds=settings.task_time_limit_seconds)
    held = [d for d in due if d.held_worker and d.held_since and d.held_since + limit > now]
    if not held:
        return set()
    try:
        with broker.translated_errors():
            beats = liveness.read(client, sorted({d.held_worker for d in held}))
    except BrokerUnavailable as err:
        log.warning("deleter: worker heartbeats unreadable, renders held at deletion count as running: %s", err)
        return {d.media_id for d in held}
    skew = settings.worker_liveness_seconds
    return {d.media_id for d in held if (beat := beats.get(d.held_worker)) is not None
            and beat.holds(d.held_pid, d.held_since.timestamp(), skew)}
