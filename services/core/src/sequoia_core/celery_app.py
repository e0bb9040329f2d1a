"""The Celery app factory shared by the API (to send) and every worker (to run)."""

from __future__ import annotations

from celery import Celery
from celery.signals import celeryd_after_setup

from sequoia_core import queue_cycle
from sequoia_core.queues import BACKFILL_LANES, QueueName, celery_queues, queue_for
from sequoia_core.redis_client import celery_redis_url, celery_transport_options, redis_ssl_options
from sequoia_core.settings import Settings
from sequoia_core.task_timing import install_enqueue_stamp


def _route(name: str, args: object, kwargs: object, options: object, task: object = None, **kw: object) -> dict:
    return {"queue": queue_for(name).value}


def _consume_backfill_lanes(sender: str, instance: object, **kwargs: object) -> None:
    """A worker told to consume a queue (`-Q thumbnails`) also consumes its backfill lane."""
    queues = instance.app.amqp.queues  # type: ignore[attr-defined]
    if queues.consume_from is None:  # no -Q: every queue already
        return
    for queue, lane in BACKFILL_LANES.items():
        if queue.value in queues.consume_from and lane.value not in queues.consume_from:
            queues.select_add(lane.value)


def create_celery_app(settings: Settings, main: str = "sequoia") -> Celery:
    """A Celery app wired for at-least-once delivery on Redis, JSON messages only.

    Building it opens no connection; the broker is reached on first use.
    """
    url = celery_redis_url(settings)
    app = Celery(main, broker=url, backend=url)
    app.conf.update(
        # rediss:// needs a certificate requirement (Celery refuses the URL without one) and the CA.
        broker_use_ssl=redis_ssl_options(settings),
        redis_backend_use_ssl=redis_ssl_options(settings),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_routes=(_route,),
        task_queues=celery_queues(),
        task_default_queue=QueueName.DEFAULT.value,
        # At-least-once: ack after the task ran; a killed worker's task goes back to the queue.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=settings.worker_prefetch_multiplier,
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=settings.soft_time_limit,
        # Live lanes before backfill lanes, backfill never starved (docs/priorities.md).
        broker_transport_options={**celery_transport_options(settings),
                                  "queue_order_strategy": queue_cycle.STRATEGY},
        result_backend_transport_options=celery_transport_options(settings),
        broker_connection_retry_on_startup=True,
        # Fail a publish fast: the outbox relay republishes what did not go out.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Kubernetes scale-in sends SIGTERM: finish running tasks (warm shutdown); on a cold shutdown
        # take a few seconds to hand unfinished messages back to the queue.
        worker_soft_shutdown_timeout=30.0,
        worker_enable_soft_shutdown_on_idle=True,
        # Nothing reads task results (an item's state lives in Postgres; Flower follows events): store
        # none, so a noeviction Redis holds only queued work.
        task_ignore_result=True,
        task_send_sent_event=True,
        # Task events only while a Flower watches: its `enable_events` broadcast (every 5 s, Flower's
        # default) turns them on in each worker it sees. Unwatched they cost a photo 1-2 ms of the
        # worker's main process (of 4) for nobody (docs/capacity.md, "System overhead").
        worker_send_task_events=False,
        worker_concurrency=settings.worker_concurrency,
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    celeryd_after_setup.connect(_consume_backfill_lanes, weak=False)
    install_enqueue_stamp()  # every publisher stamps its messages: queue wait and oldest-age metrics
    return app
