"""Celery entry point of the media worker (and beat):
`celery -A sequoia_media.worker worker -Q media,default -B`."""

from typing import Any

from celery.signals import beat_init

from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from sequoia_core.logs import install_worker_log_level
from sequoia_core.settings import get_settings
from sequoia_core.worker_heartbeat import install_heartbeat
from sequoia_media.metrics_server import install_metrics

settings = get_settings()
app = create_celery_app(settings, main="sequoia-media")


def _every(task: str, seconds: float) -> dict:
    """A beat entry. Expiry below the interval: a tick that waited in a backlog is dropped, not run
    late twice."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds * 0.9}}


app.conf.beat_schedule = {
    "relay-outbox": _every(task_names.RELAY_OUTBOX, settings.relay_interval_seconds),
    "sweep-stuck": _every(task_names.SWEEP_STUCK, settings.sweep_interval_seconds),
    "remove-orphan-originals": _every(task_names.REMOVE_ORPHAN_ORIGINALS, settings.orphan_sweep_interval_seconds),
    "prune-outbox": _every(task_names.PRUNE_OUTBOX, settings.outbox_prune_interval_seconds),
    "deliver-webhooks": _every(task_names.DELIVER_WEBHOOKS, settings.webhook_delivery_interval_seconds),
    "prune-webhooks": _every(task_names.PRUNE_WEBHOOKS, settings.outbox_prune_interval_seconds),
    "prune-idempotency-keys": _every(task_names.PRUNE_IDEMPOTENCY_KEYS, settings.outbox_prune_interval_seconds),
    "remove-deleted": _every(task_names.REMOVE_DELETED, settings.deletion_interval_seconds),
    # Expired uploads are rare and cheap to find: the orphan janitor's hourly pace is plenty.
    "abort-expired-uploads": _every(task_names.ABORT_EXPIRED_UPLOADS, settings.orphan_sweep_interval_seconds),
}


def _no_task_sent_events(sender: Any, **_: Any) -> None:
    """Beat publishes only the ticks above, whose runs send no task events (`tasks.periodic`): their
    task-sent event would leave each one pending in Flower for ever. Beat's own process (`celery
    beat`, or the child `-B` forks), so the worker and the API keep `task_send_sent_event`."""
    sender.app.conf.task_send_sent_event = False


beat_init.connect(_no_task_sent_events, weak=False, dispatch_uid="sequoia-beat-no-sent-events")
app.autodiscover_tasks(["sequoia_media"], force=True)
install_metrics(settings)
install_heartbeat(app, settings)
install_worker_log_level(settings.log_level)
