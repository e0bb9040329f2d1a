"""When a task message was put on its queue: a header stamped at every publish, read when the task
starts (queue wait) and by the queue exporter (age of the oldest waiting message).

This module must not import prometheus_client: the Celery app factory imports it (see `metrics`).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from celery.signals import before_task_publish

from sequoia_core.broker import message_headers

ENQUEUED_AT_HEADER = "sequoia_enqueued_at"


def stamp_enqueued_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """`before_task_publish` receiver: record the publish time (epoch seconds) in the headers.

    A retry is a new publish, so its wait starts again from the retry (or from its ETA).
    """
    if headers is not None:
        headers[ENQUEUED_AT_HEADER] = time.time()


def install_enqueue_stamp() -> None:
    """Stamp every task this process publishes; idempotent."""
    before_task_publish.connect(stamp_enqueued_at, weak=False, dispatch_uid="sequoia-enqueued-at")


def _epoch(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def queue_wait_seconds(enqueued_at: object, eta: object, started_at: float) -> float | None:
    """Seconds a delivery waited for a worker: from its publish, or from its ETA if that is later.

    None when the message carries no stamp (published by something that does not stamp).
    Clocks of different hosts may disagree by a little; a negative wait is reported as zero.
    """
    published = _epoch(enqueued_at)
    if published is None:
        return None
    ready = max(published, _epoch(eta) or published)
    return max(0.0, started_at - ready)


def message_enqueued_at(raw: bytes | str | None) -> float | None:
    """The publish stamp of a message as kombu's Redis transport stores it (JSON with `headers`)."""
    return _epoch(message_headers(raw).get(ENQUEUED_AT_HEADER))
