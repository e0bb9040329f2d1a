"""Celery tasks of the `media` queue."""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task

from sequoia_core import tasks as task_names
from sequoia_media.context import worker_context
from sequoia_media.outbox_relay import relay_pending

RELAY_GRACE = timedelta(seconds=15)


@shared_task(name=task_names.RELAY_OUTBOX, bind=True, ignore_result=True)
def relay_outbox(self: Task) -> int:
    """Publish outbox entries the API could not publish itself."""
    return relay_pending(worker_context().pool, self.app, RELAY_GRACE)
