"""Broadcasts to the workers (who serves which queue, revoke) on a channel of their own.

Celery's control broadcasts borrow the app's producer and connection pools, the ones that publish
tasks, and those pools wait forever when exhausted: 30 concurrent worker-health calls once hung
every later ingest in `send_task`. Here broadcasts go through a separate Celery app (its own pools,
sockets with timeouts), one at a time behind a lock that is never waited on for long, and the
answer of who serves which queue is computed once per interval and served from a cache.
"""

from __future__ import annotations

import threading
import time

from celery import Celery

from sequoia_core.broker import translated_errors
from sequoia_core.celery_app import create_celery_app
from sequoia_core.errors import BrokerUnavailable
from sequoia_core.queues import QueueName
from sequoia_core.settings import Settings

_SOCKET_TIMEOUT = 5.0


class WorkerControl:
    """Who serves each queue (cached) and task revocation, never touching the publishing pools."""

    def __init__(self, settings: Settings, name: str) -> None:
        self._app: Celery = create_celery_app(settings, main=f"{name}-control")
        self._app.conf.broker_transport_options = {
            **self._app.conf.broker_transport_options,
            "socket_timeout": _SOCKET_TIMEOUT, "socket_connect_timeout": _SOCKET_TIMEOUT,
        }
        self._timeout = settings.metrics_inspect_timeout_seconds
        self._interval = settings.worker_broadcast_cache_seconds
        self._lock = threading.Lock()
        self._served: dict[str, list[str]] | None = None
        self._read_at = float("-inf")

    def _hold(self) -> None:
        # Long enough for one broadcast in progress to finish; never forever.
        if not self._lock.acquire(timeout=self._timeout + 2 * _SOCKET_TIMEOUT):
            raise BrokerUnavailable("the workers' control channel is busy")

    def workers_by_queue(self) -> dict[str, list[str]]:
        """Worker node names consuming each queue, at most `WORKER_BROADCAST_CACHE_SECONDS` old;
        `BrokerUnavailable` when the channel does not answer."""
        if time.monotonic() - self._read_at < self._interval and self._served is not None:
            return self._served
        self._hold()
        try:
            if time.monotonic() - self._read_at >= self._interval or self._served is None:
                with translated_errors():
                    self._served = self._broadcast_active_queues()
                self._read_at = time.monotonic()
            return self._served
        finally:
            self._lock.release()

    def _broadcast_active_queues(self) -> dict[str, list[str]]:
        replies = self._app.control.inspect(timeout=self._timeout).active_queues() or {}
        served: dict[str, list[str]] = {queue.value: [] for queue in QueueName}
        for worker, queues in replies.items():
            for queue in queues:
                served.setdefault(queue["name"], []).append(worker)
        return {queue: sorted(workers) for queue, workers in served.items()}

    def revoke(self, task_id: str, terminate: bool) -> None:
        """Tell every worker to drop the task (and kill it with SIGTERM when `terminate`)."""
        self._hold()
        try:
            with translated_errors():
                self._app.control.revoke(task_id, terminate=terminate, signal="SIGTERM")
        finally:
            self._lock.release()

    def close(self) -> None:
        """Release the channel's connections."""
        self._app.close()
