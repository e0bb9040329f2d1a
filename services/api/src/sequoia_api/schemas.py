"""Request and response models: the API's documented contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sequoia_core.lifecycle import BatchStatus
from sequoia_core.mediatypes import MediaKind

MediaKindName = Literal[tuple(kind.value for kind in MediaKind)]  # type: ignore[misc]  # a literal of the enum's values
Base64 = Annotated[str, Field(json_schema_extra={"format": "byte"})]  # OpenAPI's name for base64 text
THUMBHASH_DESCRIPTION = ("ThumbHash placeholder of the picture the gallery shows (thumbnail, or audio's waveform), "
                         "standard base64; null until the item has rendered (docs/engines.md)")
STALE_DESCRIPTION = ("completed items by kind rendered under other recipe versions than the current ones "
                     "(`POST /api/async/rerender-stale` renders them again); kinds with none are left out")


# Text Postgres would refuse (NUL) or a terminal would obey: refused as the caller's 422, before any write.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


class ErrorBody(BaseModel):
    """Every error response: a stable machine code and a human message."""

    code: str = Field(examples=["not_found"])
    message: str
    detail: Any | None = None


class ErrorInfo(BaseModel):
    """Why a media item or a file failed."""

    code: str
    message: str | None = None


class DerivativeOut(BaseModel):
    """One derivative and where to fetch it."""

    name: str = Field(examples=["thumbnail"])
    format: str
    width: int | None
    height: int | None
    size_bytes: int | None = None
    url: str = Field(description="presigned S3 URL, valid `PRESIGN_EXPIRY_SECONDS` from this answer")
    link: str = Field(description="stable link (`GET /api/media/{id}/derivatives/{name}`): never expires, "
                                  "redirects to a fresh presigned URL", examples=["/api/media/…/derivatives/thumbnail"])


class MediaOut(BaseModel):
    """A media item's state, error and derivatives."""

    id: UUID
    voyage_slug: str
    batch_id: UUID | None
    task_id: UUID
    media_kind: str
    media_format: str
    original_filename: str
    size_bytes: int
    status: str
    priority: Literal["live", "backfill"] = Field(description="the lane its work waits on (docs/priorities.md)")
    attempts: int = Field(description="runs started: the first, and one more after each crash or requeue")
    retries: int = Field(description="retries after transient errors; the last error stays in `error`")
    error: ErrorInfo | None
    derivatives: list[DerivativeOut]
    thumbhash: Base64 | None = Field(description=THUMBHASH_DESCRIPTION, examples=["lBcKJgZTqPh1dyeJeYeHaqdoDZTUYCk="])
    recipe_versions: dict[str, str] | None = Field(
        description="recipe name → version the derivatives were made with; null if made before recipes had versions")
    metadata: dict[str, Any]
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None


class IngestedFile(BaseModel):
    """What happened to one uploaded file."""

    filename: str
    status: str = Field(description="`accepted`, `rejected`, `duplicate` (`dedupe=sha256`: `duplicate_of` "
                                    "holds this content), or in synchronous mode the item's state")
    media_id: UUID | None = None
    duplicate_of: UUID | None = Field(default=None, description="`dedupe=sha256`: the item that already has "
                                                                "this content (also `media_id`); no new item")
    task_id: UUID | None = None
    media_kind: str | None = None
    error: ErrorInfo | None = None
    media: MediaOut | None = Field(default=None, description="the finished item, in synchronous mode")


class RegisterItem(BaseModel):
    """An original already in the bucket."""

    key: str = Field(min_length=1, max_length=1024, pattern=NO_CONTROL_CHARACTERS,
                     examples=["incoming/voyage-1/IMG_0001.jpg"])
    filename: str | None = Field(default=None, max_length=255)

    @field_validator("key")
    @classmethod
    def _key_is_utf8(cls, key: str) -> str:
        key.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError, a ValueError: 422
        return key


class RegisterRequest(BaseModel):
    """Originals a pipeline uploaded itself."""

    model_config = ConfigDict(strict=True)

    items: list[RegisterItem] = Field(min_length=1, max_length=1000)


class UploadRequest(BaseModel):
    """An original a client will send straight to S3."""

    model_config = ConfigDict(strict=True)

    filename: str = Field(min_length=1, max_length=255, pattern=NO_CONTROL_CHARACTERS, examples=["dive-01.mp4"])
    size_bytes: int = Field(ge=1, description="the exact size of the file; at most MAX_UPLOAD_BYTES")


class UploadPart(BaseModel):
    """Where one part of a multipart upload goes."""

    part_number: int
    size_bytes: int
    url: str = Field(description="PUT the part's bytes here; keep the answer's ETag header")


class UploadTicket(BaseModel):
    """Presigned URLs for one direct upload; complete it with `POST …/uploads/{upload_id}/complete`."""

    upload_id: UUID
    key: str
    method: Literal["single", "multipart"]
    expires_at: datetime = Field(description="the URLs stop working then, and an upload not completed is aborted")
    url: str | None = Field(default=None, description="single: PUT the whole file here")
    part_size: int | None = Field(default=None, description="multipart: every part but the last has this size")
    parts: list[UploadPart] = Field(default_factory=list, description="multipart: one URL per part, in order")


class CompletedPart(BaseModel):
    """A part the client uploaded, with the ETag S3 answered."""

    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS)


class UploadCompletion(BaseModel):
    """The parts of a multipart upload (none for a single PUT)."""

    model_config = ConfigDict(strict=True)

    parts: list[CompletedPart] = Field(default_factory=list, max_length=10_000)


class IngestResponse(BaseModel):
    """The result of an ingest call: one batch, one entry per file."""

    batch_id: UUID | None
    voyage_slug: str
    accepted: int
    rejected: int
    duplicates: int = 0
    files: list[IngestedFile]
    running: list[UUID] = Field(default_factory=list, description="synchronous mode: items not final when "
                                "`SYNC_WAIT_TIMEOUT_SECONDS` passed (the answer is then 202, never 201)")


class GalleryLink(BaseModel):
    """A signed, read-only link to one voyage's gallery."""

    url: str
    expires_at: datetime


class Readiness(BaseModel):
    """Whether each service the API needs answers."""

    status: str
    checks: dict[str, str]


class BatchItemOut(BaseModel):
    """One item of a batch, briefly."""

    media_id: UUID
    filename: str
    media_kind: str
    status: str
    error_code: str | None


class BatchOut(BaseModel):
    """An ingest batch: its status, counts by item state and its items."""

    id: UUID
    voyage_slug: str
    batch_status: BatchStatus
    total_items: int
    counts: dict[str, int]
    finished: int
    created_at: datetime
    completed_at: datetime | None
    items: list[BatchItemOut]


class TaskStatus(BaseModel):
    """A derivative task: its state, the item it serves, attempts, timings and error."""

    task_id: UUID
    state: str = Field(description="queued | processing | retrying | succeeded | failed | cancelled")
    current: bool = Field(description="false when a retry or the sweeper replaced this task with a new one")
    superseded_by: UUID | None = None
    media_id: UUID
    voyage_slug: str
    media_kind: str
    queue: str
    attempts: int
    retries: int
    worker: str | None
    error: ErrorInfo | None
    thumbhash: Base64 | None = Field(description=THUMBHASH_DESCRIPTION)
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    wait_seconds: float | None = Field(description="queued → started")
    runtime_seconds: float | None = Field(description="started → finished")


class TaskPage(BaseModel):
    """One page of active tasks, newest first."""

    items: list[TaskStatus]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class CancelResult(BaseModel):
    """What a cancel request did."""

    task_id: UUID
    media_id: UUID
    state: str
    previous_state: str
    terminated: bool = Field(description="true when a running task was revoked with terminate")


class MediaDeletion(BaseModel):
    """A deleted item: gone from every read at once, its S3 objects removed by the media worker."""

    media_id: UUID
    voyage_slug: str
    state: Literal["pending", "done"] = Field(description="done once S3 confirmed nothing of the item is left")
    requested_at: datetime
    completed_at: datetime | None
    attempts: int = Field(description="failed removal attempts so far (retried with backoff)")
    last_error: str | None
    terminated: bool = Field(description="true when this call revoked a running render with terminate")


class VoyageDeletion(BaseModel):
    """A deleted voyage: its items and batches gone from every read, their S3 objects being removed."""

    voyage_slug: str
    deleted: int = Field(description="items this call deleted (0 when repeated)")
    terminated: int = Field(description="running renders this call revoked with terminate")
    pending: int = Field(description="deleted items whose S3 objects are not confirmed gone yet")
    done: int = Field(description="deleted items S3 holds nothing of")


class FailedItemOut(BaseModel):
    """A failed item with its error."""

    media_id: UUID
    filename: str
    media_kind: str
    error: ErrorInfo


class BatchSummary(BaseModel):
    """A batch of a voyage."""

    id: UUID
    batch_status: BatchStatus
    total_items: int
    created_at: datetime
    completed_at: datetime | None


class VoyageStatus(BaseModel):
    """Processing status of one voyage."""

    voyage_slug: str
    total: int
    counts_by_state: dict[str, int]
    counts_by_kind: dict[str, dict[str, int]]
    stale_by_kind: dict[str, int] = Field(description=STALE_DESCRIPTION)
    progress_percent: float
    failed_items: list[FailedItemOut]
    batches: list[BatchSummary]


class KindRuntime(BaseModel):
    """Runtime percentiles of one media kind within the window."""

    completed: int
    failed: int
    p50_seconds: float | None
    p95_seconds: float | None


class WindowStats(BaseModel):
    """What finished within the window."""

    completed: int
    failed: int
    failure_rate: float | None = Field(description="failed / (completed + failed); null when nothing finished")
    throughput_per_minute: float


class PriorityLane(BaseModel):
    """The derivatives work of one priority: its queue, what waits on it, and for how long."""

    queue: str
    depth: int = Field(description="messages waiting on the queue's Redis lists")
    oldest_wait_seconds: float = Field(description="age of the oldest item waiting for a worker (0: none)")


class GenerationStats(BaseModel):
    """Totals, windowed failure rate and throughput, runtime percentiles, queue depths and priority lanes."""

    window_seconds: int
    totals_by_state: dict[str, int]
    totals_by_kind: dict[str, dict[str, int]]
    stale_by_kind: dict[str, int] = Field(description=STALE_DESCRIPTION)
    window: WindowStats
    runtime_by_kind: dict[str, KindRuntime]
    queue_depths: dict[str, int]
    priorities: dict[Literal["live", "backfill"], PriorityLane] = Field(
        description="depth and wait of the live and backfill lanes (docs/priorities.md)")


class RetryRequest(BaseModel):
    """Which failed items to retry."""

    model_config = ConfigDict(strict=True)  # `"include_permanent": 0` is a mistake, not a false

    voyage_slug: str | None = Field(default=None, max_length=64, pattern=NO_CONTROL_CHARACTERS)
    media_kind: MediaKindName | None = None
    error_code: str | None = Field(default=None, max_length=64, pattern=NO_CONTROL_CHARACTERS)
    limit: int = Field(default=100, ge=1, le=10_000)
    dry_run: bool = False
    include_permanent: bool = Field(default=False, description="also retry permanent errors (corrupt file, …)")


class RetriedItem(BaseModel):
    """One item a retry picked."""

    media_id: UUID
    task_id: UUID | None = Field(description="the new task; null in a dry run")
    previous_error_code: str | None


class RetryResult(BaseModel):
    """What a retry did (or, in a dry run, would do)."""

    dry_run: bool
    count: int
    items: list[RetriedItem]


class RerenderRequest(BaseModel):
    """Which stale items to render again."""

    # `"dry_run": 0` is a mistake, not a false; so is a misspelt filter (`voyage`), which would widen the call.
    model_config = ConfigDict(strict=True, extra="forbid")

    voyage_slug: str | None = Field(default=None, max_length=64, pattern=NO_CONTROL_CHARACTERS)
    media_kind: MediaKindName | None = None
    limit: int = Field(default=100, ge=1, le=10_000)
    dry_run: bool = False


class RerenderedItem(BaseModel):
    """One stale item a re-render picked."""

    media_id: UUID
    task_id: UUID | None = Field(description="the new task; null in a dry run")


class RerenderResult(BaseModel):
    """What a re-render did (or, in a dry run, would do)."""

    dry_run: bool
    count: int
    items: list[RerenderedItem]


class QueueHealth(BaseModel):
    """One queue: who serves it and how much waits."""

    workers: list[str]
    workers_online: int
    depth: int
    oldest_queued_age_seconds: float | None


class WorkerHealth(BaseModel):
    """Overall worker health: `healthy`, `degraded` (200) or `unhealthy` (503)."""

    status: str
    reasons: list[str]
    queues: dict[str, QueueHealth]
    deployments: dict[str, dict[str, int | None]] | None = Field(
        default=None, description="desired and ready replicas per worker deployment, when run in Kubernetes"
    )


WebhookEventType = Literal["media.completed", "media.failed", "batch.completed", "media.deleted"]
VOYAGE_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


class WebhookCreate(BaseModel):
    """An endpoint to register: where to POST, for which voyage (none: every voyage), which events."""

    model_config = ConfigDict(strict=True, extra="forbid")

    url: str = Field(min_length=8, max_length=2048, pattern=NO_CONTROL_CHARACTERS,
                     examples=["https://ingest.example.com/sequoia-events"])
    voyage_slug: str | None = Field(default=None, max_length=64, pattern=VOYAGE_SLUG_PATTERN)
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: ["media.completed", "media.failed", "batch.completed"], min_length=1, max_length=4,
        description="default: the three outcome events; `media.deleted` only when asked for")
    description: str = Field(default="", max_length=500, pattern=NO_CONTROL_CHARACTERS)


class WebhookEndpoint(BaseModel):
    """A registered endpoint; its secret is never shown again."""

    id: UUID
    url: str
    voyage_slug: str | None
    event_types: list[str]
    description: str
    created_at: datetime


class WebhookCreated(WebhookEndpoint):
    """A new endpoint and its signing secret, shown this once."""

    secret: str = Field(description="`whsec_` and base64: verify each delivery's `webhook-signature` with it")


class WebhookAttemptOut(BaseModel):
    """One attempt to deliver an event."""

    attempted_at: datetime
    outcome: Literal["succeeded", "failed"]
    status_code: int | None
    duration_ms: int
    error: str | None


class WebhookDeliveryOut(BaseModel):
    """One event to one endpoint, with every attempt made."""

    event_id: UUID
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempt_log: list[WebhookAttemptOut]


class WebhookReplay(BaseModel):
    """A replayed event: how many endpoints get it again."""

    event_id: UUID
    deliveries: int
