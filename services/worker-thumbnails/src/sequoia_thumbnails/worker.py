"""Celery entry point of the thumbnails worker: `celery -A sequoia_thumbnails.worker worker -Q thumbnails`
(which also consumes the backfill lane, `thumbnails.backfill`: docs/priorities.md)."""

from sequoia_core.celery_app import create_celery_app
from sequoia_core.logs import install_worker_log_level
from sequoia_core.liveness import install_liveness
from sequoia_core.settings import get_settings
from sequoia_core.worker_heartbeat import install_heartbeat
from sequoia_thumbnails import process_hooks
from sequoia_thumbnails.metrics_server import install_metrics

app = create_celery_app(get_settings(), main="sequoia-thumbnails")
app.autodiscover_tasks(["sequoia_thumbnails"], force=True)
install_metrics(get_settings())
install_heartbeat(app, get_settings())
process_hooks.install()
install_liveness(get_settings())
install_worker_log_level(get_settings().log_level)
