"""Metrics of the media worker and of beat.

The worker's main process serves its task metrics on METRICS_PORT (`sequoia_core.worker_metrics`).
Beat serves the queue collector on QUEUE_METRICS_PORT: one beat per deployment, so the queue-level
series exist once, not once per worker replica.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import beat_init
from prometheus_client import CollectorRegistry, start_http_server

from sequoia_core.control import WorkerControl
from sequoia_core.db.pool import create_pool
from sequoia_core.redis_client import redis_client
from sequoia_core.settings import Settings
from sequoia_core.task_metrics import TaskMetricsSpec
from sequoia_core.worker_metrics import install_worker_metrics
from sequoia_media.queue_metrics import QueueCollector

log = logging.getLogger(__name__)


class QueueExporter:
    """Serves the queue collector from the beat process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._server: Any = None

    def on_beat_init(self, **_: Any) -> None:
        """Build the collector's clients (in beat's own process) and start serving."""
        port = self._settings.queue_metrics_port
        if port == 0:
            log.info("queue metrics disabled (QUEUE_METRICS_PORT=0)")
            return
        pool = create_pool(self._settings, min_size=1)
        pool.open(wait=False)
        collector = QueueCollector(
            redis=redis_client(self._settings),
            pool=pool,
            control=WorkerControl(self._settings, "sequoia-queue-metrics"),
        )
        registry = CollectorRegistry()
        registry.register(collector)
        try:
            self._server, _ = start_http_server(port, self._settings.metrics_address, registry=registry)
        except OSError as err:
            log.error("queue metrics: cannot listen on %s:%d: %s", self._settings.metrics_address, port, err)
            pool.close()
            return
        log.info("queue metrics on http://%s:%d/metrics", self._settings.metrics_address, port)


def install_metrics(settings: Settings) -> None:
    """Called once by the worker's entry module: task metrics in a worker, queue metrics in beat."""
    # The relay and the sweeper serve no single media item: their outcomes come from Celery's state.
    install_worker_metrics(settings, TaskMetricsSpec())
    exporter = QueueExporter(settings)
    beat_init.connect(exporter.on_beat_init, weak=False, dispatch_uid="sequoia-queue-metrics")
