"""Celery tasks of the `media` queue: the outbox relay and the sweeper, run by beat."""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task

from sequoia_core import tasks as task_names
from sequoia_media.context import worker_context
from sequoia_media.outbox_relay import relay_pending
from sequoia_media.sweeper import sweep


@shared_task(name=task_names.RELAY_OUTBOX, bind=True, ignore_result=True)
def relay_outbox(self: Task) -> int:
    """Publish outbox entries the API could not publish itself."""
    ctx = worker_context()
    return relay_pending(ctx.pool, self.app, timedelta(seconds=ctx.settings.relay_grace_seconds))


@shared_task(name=task_names.SWEEP_STUCK, bind=True, ignore_result=True)
def sweep_stuck(self: Task) -> dict[str, int]:
    """Requeue stuck items, fail those out of attempts."""
    ctx = worker_context()
    result = sweep(ctx.pool, self.app, timedelta(seconds=ctx.settings.stuck_after), ctx.settings.max_attempts)
    return {"requeued": result.requeued, "gave_up": result.gave_up}
