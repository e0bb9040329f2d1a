"""The three queues and the one routing table that sends each task to its queue."""

from __future__ import annotations

from enum import StrEnum

from kombu import Queue

from sequoia_core import tasks


class QueueName(StrEnum):
    """Queue names; each is also the Redis list key Celery fills (KEDA's `listName`)."""

    THUMBNAILS = "thumbnails"
    MEDIA = "media"
    DEFAULT = "default"


ROUTES: dict[str, QueueName] = {
    tasks.GENERATE_DERIVATIVES: QueueName.THUMBNAILS,
    tasks.RELAY_OUTBOX: QueueName.MEDIA,
    tasks.SWEEP_STUCK: QueueName.MEDIA,
    tasks.REMOVE_ORPHAN_ORIGINALS: QueueName.MEDIA,
    tasks.PRUNE_OUTBOX: QueueName.MEDIA,
}


def queue_for(task_name: str) -> QueueName:
    """The queue a task is sent to; anything unlisted goes to `default`."""
    return ROUTES.get(task_name, QueueName.DEFAULT)


def celery_queues() -> tuple[Queue, ...]:
    """Kombu declarations of every queue (direct exchanges named like the queue, Celery's default)."""
    return tuple(Queue(q.value, routing_key=q.value) for q in QueueName)
