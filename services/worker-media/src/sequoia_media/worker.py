"""Celery entry point of the media worker (and beat):
`celery -A sequoia_media.worker worker -Q media,default -B`."""

from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from sequoia_core.settings import get_settings

app = create_celery_app(get_settings(), main="sequoia-media")
app.conf.beat_schedule = {
    "relay-outbox": {"task": task_names.RELAY_OUTBOX, "schedule": 10.0},
}
app.autodiscover_tasks(["sequoia_media"], force=True)
