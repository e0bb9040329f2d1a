"""A retry that cannot be published must not drop its delivery. A real worker is cut off from Postgres
(its claim fails, transiently) and cannot open a connection to Redis (its retry cannot go out), while
the consumer connection it holds carries on and could ack (tests/faults proves a whole batch under
the production defaults)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from celery import Celery
from psycopg.conninfo import conninfo_to_dict
from redis.connection import parse_url

from sequoia_core import dispatch
from sequoia_core.celery_app import create_celery_app
from sequoia_core.db import media
from tests.factories import png_bytes
from tests.integration.helpers import ingest_unpublished
from tests.support import services
from tests.support.proxy import TcpProxy
from tests.support.services import WorkerProcess


@dataclass
class CutOffWorker:
    """A thumbnails worker reaching Redis and Postgres through proxies the test can cut, on a Redis db
    of its own (no other worker takes its tasks), and a Celery app publishing straight to that db."""

    process: WorkerProcess
    redis: TcpProxy
    postgres: TcpProxy
    celery: Celery


@pytest.fixture
def cut_off_worker(service_env, storage, workdir) -> Iterator[CutOffWorker]:
    redis_url = services.redis_db_url(8)
    services.purge_queues(redis_url)
    redis_at, postgres_at = parse_url(redis_url), conninfo_to_dict(service_env["DATABASE_URL"])
    redis_link = TcpProxy(redis_at.get("host", "127.0.0.1"), redis_at.get("port", 6379))
    postgres_link = TcpProxy(str(postgres_at["host"]), int(postgres_at.get("port") or 5432))
    # Shortened so the test sees the hand-back in seconds; the fault suite runs the default (20 s).
    env = {**service_env, "REDIS_URL": redis_link.url_for(redis_url),
           "DATABASE_URL": postgres_link.url_for(service_env["DATABASE_URL"]),
           "TASK_RETRY_PUBLISH_PATIENCE_SECONDS": "1"}
    worker = services.start_worker(env, "sequoia_thumbnails.worker", "thumbnails", "cutoff", workdir)
    try:
        direct = services.settings_from({**service_env, "REDIS_URL": redis_url})
        services.wait_for_ping(direct, worker)
        yield CutOffWorker(worker, redis_link, postgres_link, create_celery_app(direct))
    finally:
        redis_link.heal()
        postgres_link.heal()
        services.stop_worker(worker)
        redis_link.close()
        postgres_link.close()
        services.purge_queues(redis_url)


def _wait_in_log(worker: WorkerProcess, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.log():
        assert worker.alive(), f"the worker died:\n{worker.log()[-3000:]}"
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{worker.log()[-3000:]}"
        time.sleep(0.2)


def test_a_delivery_whose_retry_cannot_be_published_goes_back_to_its_queue(api, api_state, pool, voyage,
                                                                            cut_off_worker):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    cut_off_worker.redis.refuse()  # the consumer's connection carries on, a publish needs a new one
    cut_off_worker.postgres.cut()
    assert dispatch.publish_entries(pool, cut_off_worker.celery, [entry]) == 1

    # Before the fix Celery acked this delivery: the item stayed `queued` until the sweeper (35 min).
    _wait_in_log(cut_off_worker.process, "its message goes back to the queue")
    assert cut_off_worker.redis.refused, "the retry's publish must have been turned away"
    cut_off_worker.postgres.heal()
    cut_off_worker.redis.heal()

    done = services.wait_until_final(lambda path: api.get(path).json(), str(entry.media_id), 60, 0.2,
                                     (cut_off_worker.process,))
    assert done["status"] == "completed" and done["attempts"] == 1
    with pool.connection() as conn:
        assert media.get_media(conn, entry.media_id).task_id == entry.task_id, "the same delivery, not recovery"
