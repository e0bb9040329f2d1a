"""A heartbeat file the worker's main process keeps fresh, for probes that cost no interpreter.

A consumer bootstep touches WORKER_HEARTBEAT_FILE every WORKER_HEARTBEAT_SECONDS from the main
process's event loop, the loop that takes messages and supervises the pool. A stuck loop or a lost
broker connection (the consumer stops) lets the file go stale, and the chart's `sh` probe sees its
age. Local to the pod on purpose: the sweeper's per-worker liveness lives in Redis elsewhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, bootsteps

from sequoia_core.settings import Settings

log = logging.getLogger(__name__)


def touch(path: Path) -> None:
    """Create the file or bump its modification time; a failure is logged, the probe then fails."""
    try:
        path.touch()
    except OSError as err:
        log.warning("cannot touch the heartbeat file %s: %s", path, err)


def heartbeat_step(path: Path, interval: float) -> type[bootsteps.StartStopStep]:
    """A consumer bootstep touching `path` every `interval` seconds while the worker consumes."""

    class Heartbeat(bootsteps.StartStopStep):
        requires = ("celery.worker.consumer.tasks:Tasks",)

        def __init__(self, parent: Any, **kwargs: Any) -> None:
            super().__init__(parent, **kwargs)
            self._timer_entry = None

        def start(self, parent: Any) -> None:
            touch(path)
            self._timer_entry = parent.timer.call_repeatedly(interval, touch, (path,))

        def stop(self, parent: Any) -> None:
            if self._timer_entry is not None:
                self._timer_entry.cancel()
                self._timer_entry = None

    return Heartbeat


def install_heartbeat(app: Celery, settings: Settings) -> None:
    """Add the heartbeat step to a worker app when WORKER_HEARTBEAT_FILE is set (the chart sets it)."""
    if settings.worker_heartbeat_file is not None:
        app.steps["consumer"].add(heartbeat_step(settings.worker_heartbeat_file, settings.worker_heartbeat_seconds))
