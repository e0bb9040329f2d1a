"""The queues, the one routing table that sends each task to its queue, and the priority lane a
derivatives task takes (docs/priorities.md)."""

from __future__ import annotations

from enum import StrEnum

from kombu import Queue

from sequoia_core import tasks


class Priority(StrEnum):
    """How urgent an item's work is: `live` (fresh ingest) is served before `backfill` (re-renders,
    bulk retries, history), which still gets a share of every worker (`sequoia_core.queue_cycle`)."""

    LIVE = "live"
    BACKFILL = "backfill"


class QueueName(StrEnum):
    """Queue names; each is also the Redis list key Celery fills (KEDA's `listName`)."""

    THUMBNAILS = "thumbnails"
    THUMBNAILS_BACKFILL = "thumbnails.backfill"
    MEDIA = "media"
    DEFAULT = "default"


ROUTES: dict[str, QueueName] = {
    tasks.GENERATE_DERIVATIVES: QueueName.THUMBNAILS,
    tasks.RELAY_OUTBOX: QueueName.MEDIA,
    tasks.SWEEP_STUCK: QueueName.MEDIA,
    tasks.REMOVE_ORPHAN_ORIGINALS: QueueName.MEDIA,
    tasks.PRUNE_OUTBOX: QueueName.MEDIA,
    tasks.DELIVER_WEBHOOKS: QueueName.MEDIA,
    tasks.PRUNE_WEBHOOKS: QueueName.MEDIA,
    tasks.PRUNE_IDEMPOTENCY_KEYS: QueueName.MEDIA,
    tasks.REMOVE_DELETED: QueueName.MEDIA,
    tasks.ABORT_EXPIRED_UPLOADS: QueueName.MEDIA,
}


# The backfill lane of each queue that has one: a list of its own, consumed by the same workers.
BACKFILL_LANES: dict[QueueName, QueueName] = {QueueName.THUMBNAILS: QueueName.THUMBNAILS_BACKFILL}
BACKFILL_QUEUES = frozenset(BACKFILL_LANES.values())


def queue_for(task_name: str, priority: Priority = Priority.LIVE) -> QueueName:
    """The queue a task is sent to at `priority`; anything unlisted goes to `default`, and a queue
    without a backfill lane takes backfill work on its own list."""
    queue = ROUTES.get(task_name, QueueName.DEFAULT)
    return BACKFILL_LANES.get(queue, queue) if priority == Priority.BACKFILL else queue


def lanes_of(task_name: str) -> tuple[QueueName, ...]:
    """Every queue a task may wait on, live lane first."""
    return tuple(dict.fromkeys(queue_for(task_name, priority) for priority in Priority))


def priority_of(queue: str) -> Priority:
    """The priority a queue serves."""
    return Priority.BACKFILL if queue in BACKFILL_QUEUES else Priority.LIVE


def celery_queues() -> tuple[Queue, ...]:
    """Kombu declarations of every queue (direct exchanges named like the queue, Celery's default)."""
    return tuple(Queue(q.value, routing_key=q.value) for q in QueueName)
