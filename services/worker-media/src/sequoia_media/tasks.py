"""Celery tasks of the `media` queue: the outbox relay, the sweeper and the orphan janitor, run by beat."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from celery import Task, shared_task
from redis import Redis

from sequoia_core import broker
from sequoia_core import tasks as task_names
from sequoia_core.errors import BrokerUnavailable
from sequoia_core.queues import lanes_of
from sequoia_media.context import worker_context
from sequoia_media.orphans import remove_orphan_originals
from sequoia_media.outbox_relay import relay_pending
from sequoia_media.pruner import prune_outbox
from sequoia_media.recovery import recover
from sequoia_media.sweeper import sweep


@shared_task(name=task_names.RELAY_OUTBOX, bind=True, ignore_result=True)
def relay_outbox(self: Task) -> int:
    """Publish outbox entries the API could not publish itself."""
    ctx = worker_context()
    return relay_pending(ctx.pool, self.app, timedelta(seconds=ctx.settings.relay_grace_seconds))


@shared_task(name=task_names.SWEEP_STUCK, bind=True, ignore_result=True)
def sweep_stuck(self: Task) -> dict[str, int]:
    """Take back what dead workers held and what the broker lost (at once), then requeue items stuck
    past the deadline and fail those out of attempts (the last resort)."""
    ctx = worker_context()
    recovered = recover(ctx.pool, self.app, ctx.redis, ctx.settings)
    result = sweep(ctx.pool, self.app, timedelta(seconds=ctx.settings.stuck_after), ctx.settings.max_attempts,
                   next_in_line=_next_in_line(ctx.redis))
    return {"reclaimed": recovered.reclaimed, "republished": recovered.republished,
            "requeued": result.requeued, "gave_up": result.gave_up + recovered.gave_up}


@shared_task(name=task_names.REMOVE_ORPHAN_ORIGINALS, bind=True, ignore_result=True)
def remove_orphans(self: Task) -> int:
    """Remove originals no item owns (an upload whose commit failed), once past the safe age."""
    ctx = worker_context()
    return len(remove_orphan_originals(ctx.storage, ctx.pool, timedelta(seconds=ctx.settings.orphan_min_age_seconds)))


@shared_task(name=task_names.PRUNE_OUTBOX, bind=True, ignore_result=True)
def prune_outbox_entries(self: Task) -> int:
    """Delete published outbox entries past OUTBOX_RETENTION_HOURS, in batches."""
    ctx = worker_context()
    settings = ctx.settings
    # Half the interval at most: a backlog of rows is worked off over several ticks, never in one long run.
    return prune_outbox(ctx.pool, timedelta(hours=settings.outbox_retention_hours),
                        settings.outbox_prune_batch_size, settings.outbox_prune_interval_seconds / 2)


def _next_in_line(client: Redis) -> dict[str, UUID]:
    """The message at the head of each lane of the derivatives queue; nothing when Redis does not
    answer (every stuck item is then requeued, as if nothing waited)."""
    try:
        heads = {lane.value: broker.next_in_line(client, lane.value) for lane in lanes_of(task_names.GENERATE_DERIVATIVES)}
    except BrokerUnavailable:
        return {}
    return {queue: head for queue, head in heads.items() if head}
