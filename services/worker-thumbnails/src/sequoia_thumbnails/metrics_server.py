"""Metrics of the thumbnails worker: the generic task metrics, told how to read a media item after
its task and what `generate` returns. Served on METRICS_PORT by the worker's main process."""

from __future__ import annotations

from uuid import UUID

from sequoia_core import metrics
from sequoia_core import tasks as task_names
from sequoia_core.db.metrics import ItemFacts, item_facts
from sequoia_core.db.pool import transaction
from sequoia_core.settings import Settings
from sequoia_core.task_metrics import TaskMetricsSpec
from sequoia_core.worker_metrics import install_worker_metrics
from sequoia_thumbnails.context import worker_context
from sequoia_thumbnails.derivatives import Outcome


def read_item(media_id: str) -> ItemFacts | None:
    """The item as the task left it, through this process's pool."""
    with transaction(worker_context().pool) as conn:
        return item_facts(conn, UUID(media_id))


TASK_SPEC = TaskMetricsSpec(
    lookups={task_names.GENERATE_DERIVATIVES: read_item},
    outcomes={Outcome.COMPLETED: metrics.SUCCEEDED, Outcome.FAILED: metrics.FAILED, Outcome.SKIPPED: metrics.SKIPPED},
)


def install_metrics(settings: Settings) -> None:
    """Called once by the worker's entry module."""
    install_worker_metrics(settings, TASK_SPEC)
