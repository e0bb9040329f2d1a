"""What the API answers, as typed dictionaries (the JSON as it comes, with its keys named): the
wire contract of `sequoia_api.schemas`, restated without the server's packages."""

from __future__ import annotations

from typing import Any, TypedDict


class ErrorInfo(TypedDict):
    """Why an item or a file failed."""

    code: str
    message: str | None


class Derivative(TypedDict):
    """One derivative: `link` never expires (it redirects to a fresh presigned URL); `url` does."""

    name: str
    format: str
    width: int | None
    height: int | None
    size_bytes: int | None
    url: str
    link: str


class Media(TypedDict):
    """A media item's state, error and derivatives."""

    id: str
    voyage_slug: str
    batch_id: str | None
    task_id: str
    media_kind: str
    media_format: str
    original_filename: str
    size_bytes: int
    status: str
    attempts: int
    retries: int
    error: ErrorInfo | None
    derivatives: list[Derivative]
    metadata: dict[str, Any]
    created_at: str
    queued_at: str | None
    started_at: str | None
    completed_at: str | None


class IngestedFile(TypedDict):
    """What happened to one file: `accepted`, `rejected`, `duplicate`, or (synchronous mode) its state."""

    filename: str
    status: str
    media_id: str | None
    duplicate_of: str | None
    task_id: str | None
    media_kind: str | None
    error: ErrorInfo | None
    media: Media | None


class IngestResult(TypedDict):
    """One ingest call: its batch (None when nothing new was queued) and one entry per file."""

    batch_id: str | None
    voyage_slug: str
    accepted: int
    rejected: int
    duplicates: int
    files: list[IngestedFile]
    running: list[str]


class BatchItem(TypedDict):
    """One item of a batch, briefly."""

    media_id: str
    filename: str
    media_kind: str
    status: str
    error_code: str | None


class Batch(TypedDict):
    """A batch: its status, counts by state and its items."""

    id: str
    voyage_slug: str
    batch_status: str
    total_items: int
    counts: dict[str, int]
    finished: int
    created_at: str
    completed_at: str | None
    items: list[BatchItem]


class RetriedItem(TypedDict):
    """One item a retry picked."""

    media_id: str
    task_id: str | None
    previous_error_code: str | None


class RetryResult(TypedDict):
    """What a retry did (or would do, in a dry run)."""

    dry_run: bool
    count: int
    items: list[RetriedItem]


class CancelResult(TypedDict):
    """What a cancel did."""

    task_id: str
    media_id: str
    state: str
    previous_state: str
    terminated: bool


class FailedItem(TypedDict):
    """A failed item of a voyage."""

    media_id: str
    filename: str
    media_kind: str
    error: ErrorInfo


class VoyageStatus(TypedDict):
    """Processing status of one voyage."""

    voyage_slug: str
    total: int
    counts_by_state: dict[str, int]
    counts_by_kind: dict[str, dict[str, int]]
    progress_percent: float
    failed_items: list[FailedItem]
    batches: list[dict[str, Any]]


class GenerationStats(TypedDict):
    """Totals, windowed failure rate and throughput, runtime percentiles and queue depths."""

    window_seconds: int
    totals_by_state: dict[str, int]
    totals_by_kind: dict[str, dict[str, int]]
    window: dict[str, Any]
    runtime_by_kind: dict[str, dict[str, Any]]
    queue_depths: dict[str, int]


class QueueHealth(TypedDict):
    """One queue: who serves it and how much waits."""

    workers: list[str]
    workers_online: int
    depth: int
    oldest_queued_age_seconds: float | None


class WorkerHealth(TypedDict):
    """`healthy`, `degraded` or `unhealthy`, with reasons and each queue."""

    status: str
    reasons: list[str]
    queues: dict[str, QueueHealth]
    deployments: dict[str, dict[str, int | None]] | None


class GalleryLink(TypedDict):
    """A signed, read-only link to one voyage's gallery."""

    url: str
    expires_at: str
