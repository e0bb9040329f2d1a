"""Read-only looks at the Redis broker: queue depths, the next message in line, and which workers
serve which queue."""

from __future__ import annotations

import json
from uuid import UUID

from celery import Celery
from redis import Redis

from sequoia_core.queues import QueueName

# Celery's Redis transport keeps priority levels in sub-lists named `<queue>\x06\x16<priority>`.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = range(10)


def queue_keys(queue: str) -> list[str]:
    """Every Redis list a queue may use: the queue's own list and its priority sub-lists."""
    return [queue] + [f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS if step]


def queue_depths(client: Redis) -> dict[str, int]:
    """Messages waiting in each queue (all sub-lists counted), in one round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in QueueName:
        for key in queue_keys(queue.value):
            pipe.llen(key)
    lengths = iter(pipe.execute())
    return {queue.value: sum(next(lengths) for _ in queue_keys(queue.value)) for queue in QueueName}


def workers_by_queue(celery: Celery, timeout: float = 1.0) -> dict[str, list[str]]:
    """Worker node names consuming each queue, from a broadcast with a short timeout."""
    replies = celery.control.inspect(timeout=timeout).active_queues() or {}
    served: dict[str, list[str]] = {queue.value: [] for queue in QueueName}
    for worker, queues in replies.items():
        for queue in queues:
            served.setdefault(queue["name"], []).append(worker)
    return {queue: sorted(workers) for queue, workers in served.items()}


def next_in_line(client: Redis, queue: str) -> UUID | None:
    """The task id of the oldest message waiting on `queue`, if any.

    Kombu pushes to the head of the queue's list and workers pop from its tail, so the tail is next.
    """
    raw = client.lindex(queue, -1)
    if raw is None:
        return None
    try:
        return UUID(json.loads(raw)["headers"]["id"])
    except (ValueError, KeyError, TypeError):  # not a Celery task message: nothing to tell
        return None
