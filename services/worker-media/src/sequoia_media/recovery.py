"""Recovery in seconds instead of at the hard time limit, run with every sweep (docs/faults.md).

- A worker gone: its heartbeat key (sequoia_core/liveness.py) expired, or its pool process is no
  longer listed. Items it held (`processing`, `retrying`) and messages it took but never started
  (items still `queued` whose message sits unacked past the grace) get a fresh task id at once.
- The broker lost messages: the Redis server behind the queues changed (restart, failover, flush;
  `broker.read_epoch`). Queued items whose message is nowhere on the broker, and every `retrying`
  item (a worker drops the retries it holds when its connection breaks), are published again.
- A message went missing on a broker that kept running: a delivery acked while its retry could not
  be published, or a redelivery that skipped an item its failed delivery still held. Queued and
  retrying items whose published task has no message on any list nor in any `unacked` entry (where a
  worker holds a retry during its countdown) are published again once two passes in a row saw none.

Liveness is judged only once the current Redis server has been known for the grace: a restart
without persistence forgets every heartbeat until the workers' next beat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from celery import Celery
from psycopg_pool import ConnectionPool
from redis import Redis

from sequoia_core import broker, dispatch, liveness, metrics
from sequoia_core import tasks as task_names
from sequoia_core.db import transitions
from sequoia_core.db.transitions import OpenItem
from sequoia_core.db.pool import transaction
from sequoia_core.errors import BrokerUnavailable
from sequoia_core.lifecycle import HELD_STATES, ON_BROKER_STATES, Status
from sequoia_core.queues import lanes_of
from sequoia_core.settings import Settings

log = logging.getLogger(__name__)

# Every lane of the derivatives task (live and backfill): an item waits on the one of its priority.
QUEUES = tuple(lane.value for lane in lanes_of(task_names.GENERATE_DERIVATIVES))
NOW = timedelta(0)


@dataclass(frozen=True)
class RecoveryResult:
    """What one pass took back."""

    reclaimed: int = 0
    republished: int = 0
    gave_up: int = 0


def recover(pool: ConnectionPool, celery: Celery, client: Redis, settings: Settings) -> RecoveryResult:
    """One pass: republish what a new broker lost, or reclaim what dead workers held."""
    try:
        epoch = broker.read_epoch(client)
        if epoch.changed:
            result = republish_lost_messages(pool, celery, client, settings.max_attempts)
            broker.record_epoch(client, epoch)
            metrics.BROKER_RESETS.labels(QUEUES[0]).inc()
            return result
        if epoch.known_for < settings.worker_lost_after_seconds:
            return RecoveryResult()
        held = reclaim_from_lost_workers(pool, celery, client, settings)
        unseen = republish_unseen_messages(pool, celery, client, settings)
        return RecoveryResult(reclaimed=held.reclaimed, republished=unseen.republished,
                              gave_up=held.gave_up + unseen.gave_up)
    except BrokerUnavailable as err:  # Redis away: nothing can be judged; the next sweep tries again
        log.warning("recovery skipped, Redis does not answer: %s", err.__cause__)
        return RecoveryResult()


def reclaim_from_lost_workers(pool: ConnectionPool, celery: Celery, client: Redis,
                              settings: Settings) -> RecoveryResult:
    """Take back the runs and the messages of workers whose heartbeat stopped."""
    grace = settings.worker_lost_after_seconds
    quiet = timedelta(seconds=grace)
    reserved = broker.reserved_before(client, grace)
    with transaction(pool) as conn:
        held = transitions.held_items(conn, quiet)
        stranded = transitions.waiting_items(conn, QUEUES, (Status.QUEUED,), quiet, reserved) if reserved else []
    beats = liveness.read(client, sorted({item.worker for item in held if item.worker}))
    lost = [item for item in held if not _holder_alive(item, beats, settings.worker_liveness_seconds)]
    if not lost and not stranded:
        return RecoveryResult()
    held_back = _take_back(pool, celery, lost, HELD_STATES, quiet, settings.max_attempts, metrics.WORKER_LOST)
    taken_back = _take_back(pool, celery, stranded, (Status.QUEUED,), quiet, settings.max_attempts,
                            metrics.WORKER_LOST)
    requeued, gave_up = held_back[0] + taken_back[0], held_back[1] + taken_back[1]
    log.warning("recovery: %d item(s) held by lost workers, %d message(s) they had taken; %d requeued, "
                "%d failed with max_attempts", len(lost), len(stranded), requeued, gave_up)
    return RecoveryResult(reclaimed=requeued, gave_up=gave_up)


def republish_lost_messages(pool: ConnectionPool, celery: Celery, client: Redis, max_attempts: int) -> RecoveryResult:
    """After the broker changed: publish again what has no message on it any more.

    The items are read before the broker: an item queued then was published before, so a message
    missing afterwards is lost (or its item moved on meanwhile, which the guarded requeue sees)."""
    with transaction(pool) as conn:
        waiting = transitions.waiting_items(conn, QUEUES, ON_BROKER_STATES, NOW)
    on_broker = broker.task_ids_on_broker(client, QUEUES)
    # A worker drops the retries it holds when its connection breaks: their messages are gone too.
    lost = [item for item in waiting if item.processing_status == Status.RETRYING or item.task_id not in on_broker]
    requeued, gave_up = _take_back(pool, celery, lost, ON_BROKER_STATES, NOW,
                                   max_attempts, metrics.BROKER_LOST)
    if lost:
        log.warning("recovery: the broker changed; %d item(s) had no message left on it, %d republished",
                    len(lost), requeued)
    return RecoveryResult(republished=requeued, gave_up=gave_up)


def republish_unseen_messages(pool: ConnectionPool, celery: Celery, client: Redis,
                              settings: Settings) -> RecoveryResult:
    """Publish again what waits for a message that is on no queue and in no worker's hands.

    Candidates are queued and retrying items quiet for the grace whose task was published, apart from
    queued ones still in line (published after the head of their lane: surely on the list). Those
    whose message a worker holds (the `unacked` hash: a delivery, or a retry waiting for its countdown)
    are out; only if some remain are the lists read whole. A message is missing for a moment between
    a worker's BRPOP and its `unacked` entry, so an item is republished only when the previous pass
    (one sweep earlier) found its task missing too."""
    quiet = timedelta(seconds=settings.worker_lost_after_seconds)
    next_in_line = broker.heads(client, QUEUES)
    with transaction(pool) as conn:
        waiting = transitions.unseen_items(conn, QUEUES, quiet, next_in_line)
    taken = broker.task_ids_taken(client) if waiting else set()
    unseen = [item for item in waiting if item.task_id not in taken]
    if unseen:
        on_broker = broker.task_ids_on_broker(client, QUEUES)
        unseen = [item for item in unseen if item.task_id not in on_broker]
    seen_before = broker.swap_unseen(client, {item.task_id for item in unseen}, 3 * settings.sweep_interval_seconds)
    lost = [item for item in unseen if item.task_id in seen_before]
    requeued, gave_up = _take_back(pool, celery, lost, ON_BROKER_STATES, quiet, settings.max_attempts,
                                   metrics.MESSAGE_LOST)
    if lost:
        log.warning("recovery: %d item(s) waited for a message on no queue and in no worker's hands; %d "
                    "republished, %d failed with max_attempts", len(lost), requeued, gave_up)
    return RecoveryResult(republished=requeued, gave_up=gave_up)


def _holder_alive(item: OpenItem, beats: dict[str, liveness.Heartbeat | None], skew: float) -> bool:
    if item.worker_pid is None:  # claimed by a worker older than heartbeats: the stuck deadline judges it
        return True
    beat = beats.get(item.worker or "")
    return beat is not None and beat.holds(item.worker_pid, item.claimed_at, skew)


def _take_back(pool: ConnectionPool, celery: Celery, items: list[OpenItem], from_states: tuple[Status, ...],
               quiet: timedelta, max_attempts: int, fault: str) -> tuple[int, int]:
    """Requeue `items` under fresh task ids (or fail those out of attempts), then publish; returns how
    many were requeued and how many failed."""
    if not items:
        return 0, 0
    ids: list[UUID] = [item.id for item in items]
    with transaction(pool) as conn:
        entries, gave_up = transitions.reclaim(conn, ids, from_states, quiet, max_attempts)
    dispatch.publish_entries(pool, celery, entries)
    metrics.RECOVERED.labels(fault, metrics.REQUEUED).inc(len(entries))
    metrics.RECOVERED.labels(fault, metrics.GAVE_UP).inc(len(gave_up))
    taken = {entry.media_id for entry in entries}
    for item in items:
        if item.id in taken:
            metrics.RECOVERY_LAG.labels(fault).observe(item.quiet_seconds)
    return len(entries), len(gave_up)
