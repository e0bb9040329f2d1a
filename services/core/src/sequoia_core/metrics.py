"""Sequoia's Prometheus metrics: names start with `sequoia_`, units are in the name, labels stay few.

No label ever holds a media id, task id or voyage slug. docs/monitoring.md describes every metric.

Every metric has labels: a labelled metric creates its values on first use, which in a worker comes
after `multiprocess.use_file_values` has pointed them at the multiprocess directory.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from sequoia_core.multiprocess import CompactingCollector
from sequoia_core.webhooks import EventType

# -- label values
SUCCEEDED, FAILED, RETRIED, CANCELLED, SKIPPED = "succeeded", "failed", "retried", "cancelled", "skipped"
OUTCOMES = (SUCCEEDED, FAILED, RETRIED, CANCELLED, SKIPPED)
NO_MEDIA = "none"  # a task that serves no media item (outbox relay, sweeper)
UNKNOWN = "unknown"  # the media kind could not be looked up
UNMATCHED_ROUTE = "unmatched"  # a request no route matched (404s of random paths stay one series)

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TASK = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
_WAIT = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
_END_TO_END = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)

# -- API
API_REQUESTS = Counter(
    "sequoia_api_requests_total", "HTTP requests answered by the API, by route template and status.",
    ["method", "route", "status"],
)
API_LATENCY = Histogram(
    "sequoia_api_request_duration_seconds", "Time the API took to answer a request.",
    ["method", "route", "status"], buckets=_FAST,
)
INGEST_FILES = Counter("sequoia_ingest_files_total", "Files accepted by ingest, by media kind.", ["media_kind"])
INGEST_BYTES = Counter("sequoia_ingest_bytes_total", "Bytes of originals accepted by ingest.", ["media_kind"])
INGEST_REJECTED = Counter("sequoia_ingest_rejected_total", "Files refused by ingest, by error code.", ["code"])

# -- workers
TASKS = Counter(
    "sequoia_tasks_total", "Task deliveries by how they ended: succeeded, failed, retried, cancelled or skipped.",
    ["queue", "task", "media_kind", "outcome"],
)
TASK_ERRORS = Counter(
    "sequoia_task_errors_total", "Failed and retried task deliveries by error code.",
    ["queue", "task", "media_kind", "outcome", "error_code"],
)
TASK_RUNTIME = Histogram(
    "sequoia_task_runtime_seconds", "Time a worker spent running one task delivery.",
    ["queue", "task", "media_kind"], buckets=_TASK,
)
QUEUE_WAIT = Histogram(
    "sequoia_task_queue_wait_seconds", "Time a task delivery waited on its queue (publish or ETA to start).",
    ["queue", "task", "media_kind"], buckets=_WAIT,
)
END_TO_END = Histogram(
    "sequoia_media_end_to_end_seconds", "Time from ingest accepting an item to its derivatives being stored.",
    ["media_kind"], buckets=_END_TO_END,
)

# -- recovery (sequoia_media/recovery.py, run by the sweeper on beat)
RECOVERED = Counter(
    "sequoia_recovery_items_total",
    "Items recovery took back: fault worker_lost (a dead worker held the run or its message), broker_lost "
    "(a new broker lost the message) or message_lost (the message was on no queue and in no worker's hands, "
    "as when a retry could not be published); action requeued (fresh task id) or failed (out of attempts).",
    ["fault", "action"],
)
BROKER_RESETS = Counter(
    "sequoia_broker_epoch_changes_total",
    "Times the sweeper found a new Redis server behind the queues (restart, failover or flush).", ["queue"],
)
RECOVERY_LAG = Histogram(
    "sequoia_recovery_seconds",
    "Time from an item's last sign of life (its run's last write, or the broker's start) to recovery taking it back.",
    ["fault"], buckets=(1.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)
WORKER_LOST, BROKER_LOST, MESSAGE_LOST = "worker_lost", "broker_lost", "message_lost"
REQUEUED, GAVE_UP = "requeued", "failed"
# Every known series at zero from the start, so the recovery alerts and panels see a rate, not a gap.
for _fault in (WORKER_LOST, BROKER_LOST, MESSAGE_LOST):
    RECOVERY_LAG.labels(_fault)
    for _action in (REQUEUED, GAVE_UP):
        RECOVERED.labels(_fault, _action)


# -- webhooks (sequoia_media/webhook_sender.py, on the media worker)
WEBHOOK_ATTEMPTS = Counter(
    "sequoia_webhook_attempts_total",
    "Webhook delivery attempts by event type and result: delivered, retried (tried again later) or failed "
    "(the retry schedule is spent).",
    ["event_type", "result"],
)
WEBHOOK_DURATION = Histogram(
    "sequoia_webhook_attempt_duration_seconds", "Time one webhook attempt took, to the answer's headers or the error.",
    ["result"], buckets=_FAST,
)
DELIVERED, RETRIED_LATER = "delivered", "retried"
WEBHOOK_RESULTS = (DELIVERED, RETRIED_LATER, FAILED)
for _result in WEBHOOK_RESULTS:
    WEBHOOK_DURATION.labels(_result)
    for _event_type in EventType:
        WEBHOOK_ATTEMPTS.labels(_event_type.value, _result)


def exposition_registry(multiproc_dir: Path | None) -> CollectorRegistry:
    """What a /metrics endpoint serves: this process's registry, or in multiprocess mode the sum of
    the files every process of the tree wrote."""
    if multiproc_dir is None:
        return REGISTRY
    registry = CollectorRegistry()
    registry.register(CompactingCollector(multiproc_dir))
    return registry
