"""The queue collector: how much work waits and for how long, items by state and workers online,
read from Redis and Postgres at each scrape and from the workers' control channel (one broadcast
per interval, cached: `sequoia_core.control`).

These are facts about the whole deployment, so exactly one process exports them: Celery beat (one
per deployment by design, and always running, also while KEDA has scaled the workers to zero).
A source that does not answer drops its series and sets `sequoia_queue_metrics_source_up` to 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool
from redis import Redis

from sequoia_core import broker
from sequoia_core.control import WorkerControl
from sequoia_core.db import reports
from sequoia_core.db.pool import transaction
from sequoia_core.errors import TransientError
from sequoia_core.lifecycle import Status
from sequoia_core.mediatypes import MediaKind
from sequoia_core.queues import QueueName
from sequoia_core.task_timing import message_enqueued_at

log = logging.getLogger(__name__)

QUEUES = tuple(q.value for q in QueueName)
MAX_CONCURRENT_SCRAPES = 2
SCRAPE_WAIT_SECONDS = 10.0
T = TypeVar("T")


@dataclass
class RedisView:
    """Messages waiting in each queue's lists, and the publish stamp of the oldest one."""

    depths: dict[str, int]
    oldest_stamps: dict[str, float | None]


@dataclass
class PostgresView:
    """Items by state and kind, and the age of the oldest item waiting for a worker per queue."""

    items: dict[tuple[str, str], int]
    oldest_ages: dict[str, float]


def read_redis(client: Redis) -> RedisView:
    """One round trip: the depth of every queue and the publish stamp of its oldest message."""
    queues = broker.read_queues(client, with_oldest=True)
    oldest: dict[str, float | None] = {}
    for queue, lists in queues.items():
        stamps = (message_enqueued_at(raw) for raw in lists.oldest)
        oldest[queue] = min((s for s in stamps if s is not None), default=None)
    return RedisView(depths={queue: lists.depth for queue, lists in queues.items()}, oldest_stamps=oldest)


def read_postgres(pool: ConnectionPool, timeout: float = 2.0) -> PostgresView:
    """Counts by state and kind (every pair, zeros included) and the oldest waiting age per queue.

    Waits at most `timeout` for a connection: a scrape must not hang on a database that is down.
    """
    items = {(status.value, kind.value): 0 for status in Status for kind in MediaKind}
    with transaction(pool, timeout=timeout) as conn:
        for row in reports.counts(conn):
            items[(row.processing_status, row.media_kind)] = row.count
        ages = reports.oldest_waiting_seconds(conn)
    return PostgresView(items=items, oldest_ages=ages)


def oldest_age(queue: str, redis_view: RedisView | None, pg_view: PostgresView | None, now: float) -> float:
    """How long the oldest work of `queue` has waited: its oldest message, or its oldest item still
    pending or queued in Postgres (published late, or lost from Redis), whichever is older; 0 if none."""
    ages = [0.0]
    if redis_view is not None and redis_view.oldest_stamps.get(queue) is not None:
        ages.append(now - redis_view.oldest_stamps[queue])
    if pg_view is not None and queue in pg_view.oldest_ages:
        ages.append(pg_view.oldest_ages[queue])
    return max(ages)


class QueueCollector(Collector):
    """A prometheus_client collector reading its sources at each scrape."""

    def __init__(self, redis: Redis, pool: ConnectionPool, control: WorkerControl) -> None:
        self._redis = redis
        self._pool = pool
        self._control = control
        # Scrapes beyond these wait (then fail) instead of piling reads onto Redis and Postgres.
        self._scrapes = threading.BoundedSemaphore(MAX_CONCURRENT_SCRAPES)

    def collect(self) -> Iterator[Metric]:
        """Every queue-level family, from whichever sources answered; a few scrapes at a time."""
        if not self._scrapes.acquire(timeout=SCRAPE_WAIT_SECONDS):
            raise RuntimeError(f"more than {MAX_CONCURRENT_SCRAPES} concurrent scrapes")
        try:
            yield from self._collect()
        finally:
            self._scrapes.release()

    def _collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("sequoia_queue_metrics_source_up",
                               "Whether the queue collector could read a source (1) or not (0).", labels=["source"])
        redis_view = self._read("redis", up, lambda: read_redis(self._redis))
        pg_view = self._read("postgres", up, lambda: read_postgres(self._pool))
        workers = None
        if redis_view is None:
            up.add_metric(["celery"], 0)  # the broadcast rides on the same Redis: don't wait for it
        else:
            workers = self._read("celery", up, self._control.workers_by_queue)
        if redis_view is not None:
            yield _per_queue("sequoia_queue_depth", "Messages waiting in the queue's Redis lists (priority "
                             "sub-lists included), as KEDA counts them.", redis_view.depths)
        if redis_view is not None or pg_view is not None:
            now = time.time()
            ages = {q: oldest_age(q, redis_view, pg_view, now) for q in QUEUES}
            yield _per_queue("sequoia_queue_oldest_age_seconds", "Age of the oldest work waiting for a worker "
                             "on the queue (0 when nothing waits).", ages)
        if pg_view is not None:
            items = GaugeMetricFamily("sequoia_media_items", "Media items by processing state and kind.",
                                      labels=["status", "media_kind"])
            for (status, kind), count in sorted(pg_view.items.items()):
                items.add_metric([status, kind], count)
            yield items
        if workers is not None:
            yield _per_queue("sequoia_workers_online", "Workers consuming the queue (answered a broadcast).",
                             {q: len(workers.get(q, [])) for q in QUEUES})
        yield up

    @staticmethod
    def _read(source: str, up: GaugeMetricFamily, read: Callable[[], T]) -> T | None:
        try:
            value = read()
        except TransientError as err:  # Redis, the control channel or Postgres away
            log.warning("queue metrics: %s unavailable: %s", source, err)
            up.add_metric([source], 0)
            return None
        up.add_metric([source], 1)
        return value


def _per_queue(name: str, documentation: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["queue"])
    for queue in QUEUES:
        family.add_metric([queue], values.get(queue, 0))
    return family
