"""Routing lives in one place and the Celery app is configured for at-least-once, JSON-only delivery."""

from __future__ import annotations

from sequoia_core import tasks
from sequoia_core.celery_app import create_celery_app
from sequoia_core.queues import QueueName, queue_for
from sequoia_core.settings import Settings


def test_every_known_task_has_its_seed_queue():
    assert queue_for(tasks.GENERATE_DERIVATIVES) is QueueName.THUMBNAILS
    assert queue_for(tasks.RELAY_OUTBOX) is QueueName.MEDIA
    assert queue_for("anything.else") is QueueName.DEFAULT


def test_celery_app_routes_by_name_without_worker_code():
    app = create_celery_app(Settings(_env_file=None))

    route = app.amqp.router.route({}, tasks.GENERATE_DERIVATIVES, args=(), kwargs={})

    assert route["queue"].name == "thumbnails"


def test_celery_app_is_json_only_and_acks_late():
    settings = Settings(_env_file=None)
    conf = create_celery_app(settings).conf

    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit == 1800


def test_prefetch_is_one_message_per_process_unless_raised():
    """Prefetch 1 keeps live work at most one backfill item behind (docs/priorities.md); a deployment
    may raise it for short tasks (docs/capacity.md, "Bubbles")."""
    assert create_celery_app(Settings(_env_file=None)).conf.worker_prefetch_multiplier == 1
    raised = Settings(_env_file=None, worker_prefetch_multiplier=2)
    assert create_celery_app(raised).conf.worker_prefetch_multiplier == 2
