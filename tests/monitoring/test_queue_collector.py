"""The queue collector against real Redis and Postgres: depth counts every list of a queue (priority
sub-lists too) exactly as LLEN does, the oldest age comes from the messages' publish stamps and
from waiting rows, and a source that is down costs its series, not the scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator
from uuid import uuid4

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sequoia_core import tasks as task_names
from sequoia_core.broker import queue_keys
from sequoia_core.celery_app import create_celery_app
from sequoia_core.control import WorkerControl
from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings
from sequoia_media.queue_metrics import QueueCollector
from tests.monitoring.conftest import monitoring_redis_url
from tests.support import services

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings() -> Iterator[Settings]:
    redis_url = monitoring_redis_url()
    services.purge_queues(redis_url)
    with services.fresh_database() as database_url:
        yield Settings(_env_file=None, redis_url=redis_url, database_url=database_url)
    services.purge_queues(redis_url)


def _scrape(settings: Settings, redis_url: str | None = None) -> dict[str, dict[tuple, float]]:
    """Collect once through a registry, as the exporter serves it, and parse the exposition back."""
    pool = create_pool(settings)
    pool.open()
    client = redis.Redis.from_url(redis_url or settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    registry = CollectorRegistry()
    control = WorkerControl(settings.model_copy(update={"metrics_inspect_timeout_seconds": 0.3}), "test")
    registry.register(QueueCollector(client, pool, control))
    try:
        text = generate_latest(registry).decode()
    finally:
        pool.close()
        client.close()
        control.close()
    return {family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
            for family in text_string_to_metric_families(text)}


def _insert_waiting_item(settings: Settings, age_seconds: int) -> None:
    with create_pool(settings) as pool, pool.connection() as conn:
        conn.execute(
            """INSERT INTO media (id, voyage_slug, media_kind, media_format, original_filename, content_type,
                                  size_bytes, original_key, task_id, queue, processing_status, queued_at)
               VALUES (%s, 'collector', 'pdf', 'pdf', 'a.pdf', 'application/pdf', 1, 'k', %s, 'thumbnails',
                       'queued', now() - make_interval(secs => %s))""",
            (uuid4(), uuid4(), age_seconds))


def test_depth_counts_priority_sub_lists_like_llen_and_age_uses_the_publish_stamp(settings: Settings) -> None:
    app = create_celery_app(settings)
    published = time.time()
    app.send_task(task_names.GENERATE_DERIVATIVES, args=[str(uuid4())], priority=0)
    app.send_task(task_names.GENERATE_DERIVATIVES, args=[str(uuid4())], priority=6)
    app.send_task(task_names.RELAY_OUTBOX)
    client = redis.Redis.from_url(settings.redis_url)
    lengths = {key: client.llen(key) for key in queue_keys("thumbnails")}
    assert sum(1 for n in lengths.values() if n) == 2, "one message should sit in a priority sub-list"
    # The age grows from the publish stamp: wait until it passed 1 s, instead of sleeping a second.
    deadline = time.monotonic() + 30
    while (metrics := _scrape(settings))["sequoia_queue_oldest_age_seconds"][(("queue", "thumbnails"),)] < 1.0:
        assert time.monotonic() < deadline, "the oldest waiting age never reached 1 s"
        time.sleep(0.1)

    depth = metrics["sequoia_queue_depth"]
    assert depth[(("queue", "thumbnails"),)] == sum(lengths.values()) == 2
    assert depth[(("queue", "media"),)] == 1 and depth[(("queue", "default"),)] == 0
    age = metrics["sequoia_queue_oldest_age_seconds"][(("queue", "thumbnails"),)]
    assert 1.0 <= age <= time.time() - published + 0.5
    assert metrics["sequoia_queue_oldest_age_seconds"][(("queue", "default"),)] == 0
    assert set(metrics["sequoia_workers_online"].values()) == {0}
    assert set(metrics["sequoia_queue_metrics_source_up"].values()) == {1}
    services.purge_queues(settings.redis_url)


def test_items_by_state_and_an_old_waiting_row_count(settings: Settings) -> None:
    _insert_waiting_item(settings, age_seconds=600)

    metrics = _scrape(settings)

    items = metrics["sequoia_media_items"]
    assert len(items) == 7 * 4, "every state and kind, zeros included"
    assert items[(("media_kind", "pdf"), ("status", "queued"))] == 1
    assert sum(items.values()) == 1
    assert 600 <= metrics["sequoia_queue_oldest_age_seconds"][(("queue", "thumbnails"),)] < 660


@pytest.mark.timeout(30)  # a scrape that hangs on a dead source fails here
def test_redis_down_drops_its_series_not_the_scrape(settings: Settings) -> None:
    metrics = _scrape(settings, redis_url="redis://127.0.0.1:1/0")

    up = metrics["sequoia_queue_metrics_source_up"]
    assert up == {(("source", "redis"),): 0, (("source", "postgres"),): 1, (("source", "celery"),): 0}
    assert "sequoia_queue_depth" not in metrics and "sequoia_workers_online" not in metrics
    assert "sequoia_media_items" in metrics and "sequoia_queue_oldest_age_seconds" in metrics


@pytest.mark.timeout(30)
def test_postgres_down_drops_its_series_not_the_scrape(settings: Settings) -> None:
    down = Settings(_env_file=None, redis_url=settings.redis_url,
                    database_url="postgresql://postgres@127.0.0.1:1/none?connect_timeout=1")

    metrics = _scrape(down)

    assert metrics["sequoia_queue_metrics_source_up"][(("source", "postgres"),)] == 0
    assert "sequoia_media_items" not in metrics
    assert "sequoia_queue_depth" in metrics
