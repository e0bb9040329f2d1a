"""Request and response models: the API's documented contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


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
    url: str


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
    attempts: int
    error: ErrorInfo | None
    derivatives: list[DerivativeOut]
    metadata: dict[str, Any]
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None


class IngestedFile(BaseModel):
    """What happened to one uploaded file."""

    filename: str
    status: str = Field(description="`accepted`, `completed`/`failed` (synchronous mode) or `rejected`")
    media_id: UUID | None = None
    task_id: UUID | None = None
    media_kind: str | None = None
    error: ErrorInfo | None = None
    media: MediaOut | None = Field(default=None, description="the finished item, in synchronous mode")


class IngestResponse(BaseModel):
    """The result of an ingest call: one batch, one entry per file."""

    batch_id: UUID | None
    voyage_slug: str
    accepted: int
    rejected: int
    files: list[IngestedFile]


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
    batch_status: str
    total_items: int
    counts: dict[str, int]
    finished: int
    created_at: datetime
    completed_at: datetime | None
    items: list[BatchItemOut]
