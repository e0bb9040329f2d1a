"""Metrics of a Celery worker: the multiprocess directory, the /metrics server of the main process,
and the task receivers (`task_metrics`).

Prefork children run the tasks and are replaced after `--max-tasks-per-child`. Each child writes its
values to files in PROMETHEUS_MULTIPROC_DIR and the main process serves their sum (`multiprocess`),
so no count is lost when a child goes. Everything is set up in `worker_init`: in the main process,
before the pool forks its first child.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_shutdown
from prometheus_client import start_http_server

from sequoia_core import multiprocess
from sequoia_core.metrics import exposition_registry
from sequoia_core.settings import Settings
from sequoia_core.task_metrics import TaskMetricsSpec, TaskObserver, initialise

log = logging.getLogger(__name__)


def consumed_queues(app: Celery) -> list[str]:
    """The queues this worker consumes (`-Q`), or every declared queue."""
    return sorted(app.amqp.queues.consume_from or app.amqp.queues)


class WorkerMetrics:
    """Starts and stops a worker's metrics; its methods are the Celery signal receivers."""

    def __init__(self, settings: Settings, spec: TaskMetricsSpec) -> None:
        self._settings = settings
        self._spec = spec
        self._directory: Path | None = None
        self._private = False
        self._server: Any = None

    def on_worker_init(self, sender: Any = None, **_: Any) -> None:
        """In the main process, before the pool forks: set the directory, connect, serve."""
        self._directory, self._private = multiprocess.prepare_dir(self._settings.prometheus_multiproc_dir)
        multiprocess.use_file_values(self._directory)
        TaskObserver(self._spec).connect()
        if sender is not None:
            own_tasks = [name for name in sender.app.tasks if not name.startswith("celery.")]
            initialise(consumed_queues(sender.app), own_tasks, self._spec)
        self._serve()

    def on_worker_shutdown(self, **_: Any) -> None:
        """Stop the server; remove a private directory."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._private and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    def _serve(self) -> None:
        port, address = self._settings.metrics_port, self._settings.metrics_address
        if port == 0:
            log.info("worker metrics server disabled (METRICS_PORT=0)")
            return
        try:
            self._server, _ = start_http_server(port, address, registry=exposition_registry(self._directory))
        except OSError as err:
            # The worker still does its work; the missing scrape target is what alerts.
            log.error("worker metrics: cannot listen on %s:%d: %s", address, port, err)
            return
        log.info("worker metrics on http://%s:%d/metrics", address, port)


def install_worker_metrics(settings: Settings, spec: TaskMetricsSpec) -> WorkerMetrics:
    """Wire metrics into this worker process; called once by the worker's entry module.

    Only `worker_init` and `worker_shutdown` are connected here, so importing a worker module
    elsewhere (tests, Flower) starts nothing.
    """
    observer = WorkerMetrics(settings, spec)
    worker_init.connect(observer.on_worker_init, weak=False, dispatch_uid="sequoia-worker-metrics-init")
    worker_shutdown.connect(observer.on_worker_shutdown, weak=False, dispatch_uid="sequoia-worker-metrics-stop")
    return observer
