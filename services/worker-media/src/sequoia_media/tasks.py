"""Celery tasks of the `media` queue, run by beat: the outbox relay, the sweeper, the orphan janitor,
the pruners, the webhook sender, the deleter and the janitor of expired direct uploads."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from celery import Task, shared_task
from psycopg_pool import ConnectionPool
from redis import Redis
from redis.exceptions import LockError

from sequoia_core import broker
from sequoia_core import tasks as task_names
from sequoia_core.errors import BrokerUnavailable
from sequoia_core.queues import lanes_of
from sequoia_media.context import worker_context
from sequoia_media.deleter import remove_deleted
from sequoia_media.orphans import remove_orphan_originals
from sequoia_media.outbox_relay import relay_pending
from sequoia_media.pruner import prune_idempotency_keys, prune_outbox, prune_webhook_events
from sequoia_media.recovery import recover
from sequoia_media.sweeper import sweep
from sequoia_media.uploads import abort_expired_uploads
from sequoia_media.webhook_sender import any_due, deliver_due

WEBHOOK_SENDER_LOCK = "sequoia:webhooks:sender"


def periodic(name: str) -> Callable[[Callable[..., Any]], Task]:
    """A task of beat's schedule. It sends no task events even while a Flower has turned them on
    (`send_events=False`; beat sends no task-sent either, `sequoia_media.worker`): a few ticks every
    few seconds, forever, each costing the worker's main process three event publishes for a list
    nobody reads. Sequoia's own task metrics count them (signals, not events)."""
    return shared_task(name=name, bind=True, ignore_result=True, send_events=False)


@periodic(task_names.RELAY_OUTBOX)
def relay_outbox(self: Task) -> int:
    """Publish outbox entries the API could not publish itself."""
    ctx = worker_context()
    return relay_pending(ctx.pool, self.app, timedelta(seconds=ctx.settings.relay_grace_seconds))


@periodic(task_names.SWEEP_STUCK)
def sweep_stuck(self: Task) -> dict[str, int]:
    """Take back what dead workers held and what the broker lost (at once), then requeue items stuck
    past the deadline and fail those out of attempts (the last resort)."""
    ctx = worker_context()
    recovered = recover(ctx.pool, self.app, ctx.redis, ctx.settings)
    result = sweep(ctx.pool, self.app, timedelta(seconds=ctx.settings.stuck_after), ctx.settings.max_attempts,
                   next_in_line=_next_in_line(ctx.redis))
    return {"reclaimed": recovered.reclaimed, "republished": recovered.republished,
            "requeued": result.requeued, "gave_up": result.gave_up + recovered.gave_up}


@periodic(task_names.REMOVE_ORPHAN_ORIGINALS)
def remove_orphans(self: Task) -> int:
    """Remove originals no item owns (an upload whose commit failed), once past the safe age."""
    ctx = worker_context()
    return len(remove_orphan_originals(ctx.storage, ctx.pool, timedelta(seconds=ctx.settings.orphan_min_age_seconds)))


@periodic(task_names.PRUNE_OUTBOX)
def prune_outbox_entries(self: Task) -> int:
    """Delete published outbox entries past OUTBOX_RETENTION_HOURS, in batches."""
    return _prune(prune_outbox, "outbox_retention_hours")


@periodic(task_names.DELIVER_WEBHOOKS)
def deliver_webhooks(self: Task) -> int:
    """Send the webhook deliveries that are due (docs/webhooks.md). One sender at a time in the whole
    deployment: a tick that finds another still sending leaves, so slow receivers never hold more
    than one media worker process (the others relay and sweep)."""
    ctx = worker_context()
    settings = ctx.settings
    if not any_due(ctx.pool):  # most ticks: one query, no lock
        return 0
    budget = settings.webhook_delivery_interval_seconds
    hold = budget + 2 * (settings.webhook_connect_timeout_seconds + settings.webhook_timeout_seconds)
    sender = ctx.redis.lock(WEBHOOK_SENDER_LOCK, timeout=hold, blocking=False)
    if not sender.acquire():
        return 0
    try:
        # Within the interval, so ticks do not pile up; an attempt in flight at the end finishes first.
        return deliver_due(ctx.pool, ctx.webhooks, settings, budget)
    finally:
        with contextlib.suppress(LockError):  # it expired under a sender slower than `hold`
            sender.release()


@periodic(task_names.PRUNE_WEBHOOKS)
def prune_webhooks(self: Task) -> int:
    """Delete finished webhook events and their attempt log past WEBHOOK_RETENTION_HOURS, in batches."""
    return _prune(prune_webhook_events, "webhook_retention_hours")


@periodic(task_names.PRUNE_IDEMPOTENCY_KEYS)
def prune_idempotency(self: Task) -> int:
    """Delete Idempotency-Keys past IDEMPOTENCY_KEY_HOURS, in batches (the outbox pruner's interval and size)."""
    return _prune(prune_idempotency_keys, "idempotency_key_hours")


def _prune(prune: Callable[[ConnectionPool, timedelta, int, float], int], retention_setting: str) -> int:
    """One pruner's tick, in OUTBOX_PRUNE_BATCH_SIZE batches for at most half the interval: a backlog
    of rows is worked off over several ticks, never in one long run."""
    ctx = worker_context()
    settings = ctx.settings
    return prune(ctx.pool, timedelta(hours=getattr(settings, retention_setting)),
                 settings.outbox_prune_batch_size, settings.outbox_prune_interval_seconds / 2)


@periodic(task_names.REMOVE_DELETED)
def remove_deleted_objects(self: Task) -> dict[str, int]:
    """Remove from S3 what deleted items left there, until S3 confirms (retried with backoff)."""
    ctx = worker_context()
    # Half the interval at most, like the pruner: a backlog is worked off over several ticks.
    budget = ctx.settings.deletion_interval_seconds / 2
    result = remove_deleted(ctx.pool, ctx.storage, ctx.redis, ctx.settings, budget)
    return {"done": result.done, "waiting": result.waiting, "failed": result.failed}


@periodic(task_names.ABORT_EXPIRED_UPLOADS)
def abort_expired(self: Task) -> int:
    """Abort direct uploads never completed before their expiry (their S3 parts are freed)."""
    ctx = worker_context()
    return abort_expired_uploads(ctx.pool, ctx.storage)


def _next_in_line(client: Redis) -> dict[str, UUID]:
    """The message at the head of each lane of the derivatives queue; nothing when Redis does not
    answer (every stuck item is then requeued, as if nothing waited)."""
    try:
        return broker.heads(client, tuple(lane.value for lane in lanes_of(task_names.GENERATE_DERIVATIVES)))
    except BrokerUnavailable:
        return {}
