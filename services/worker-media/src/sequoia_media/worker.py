"""Celery entry point of the media worker (and beat):
`celery -A sequoia_media.worker worker -Q media,default -B`."""

from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from sequoia_core.settings import get_settings
from sequoia_core.worker_heartbeat import install_heartbeat
from sequoia_media.metrics_server import install_metrics

settings = get_settings()
app = create_celery_app(settings, main="sequoia-media")
# Expiry below the interval: a beat tick that waited in a backlog is dropped, not run late twice.
app.conf.beat_schedule = {
    "relay-outbox": {
        "task": task_names.RELAY_OUTBOX,
        "schedule": settings.relay_interval_seconds,
        "options": {"expires": settings.relay_interval_seconds * 0.9},
    },
    "sweep-stuck": {
        "task": task_names.SWEEP_STUCK,
        "schedule": settings.sweep_interval_seconds,
        "options": {"expires": settings.sweep_interval_seconds * 0.9},
    },
    "remove-orphan-originals": {
        "task": task_names.REMOVE_ORPHAN_ORIGINALS,
        "schedule": settings.orphan_sweep_interval_seconds,
        "options": {"expires": settings.orphan_sweep_interval_seconds * 0.9},
    },
    "prune-outbox": {
        "task": task_names.PRUNE_OUTBOX,
        "schedule": settings.outbox_prune_interval_seconds,
        "options": {"expires": settings.outbox_prune_interval_seconds * 0.9},
    },
}
app.autodiscover_tasks(["sequoia_media"], force=True)
install_metrics(settings)
install_heartbeat(app, settings)
