"""The status endpoints under /api/async: tasks, a voyage's progress, stats, retries and worker health."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from sequoia_api.http.deps import Reader, State, VoyageSlug, Writer
from sequoia_api.http.idempotency import IDEMPOTENT_OPENAPI, IDEMPOTENT_RESPONSES, IdempotencyKey, body_hash, idempotent
from sequoia_api.http.responses import json_response
from sequoia_api.schemas import (
    CancelResult,
    ErrorBody,
    GenerationStats,
    MediaKindName,
    RerenderRequest,
    RerenderResult,
    RetryRequest,
    RetryResult,
    TaskPage,
    TaskStatus,
    VoyageStatus,
    WorkerHealth,
)
from sequoia_api.services import rerender, retry, stats, tasks, voyages, worker_health
from sequoia_core import lifecycle
from sequoia_core.db.reports import ActiveFilter
from sequoia_core.lifecycle import ACTIVE_STATES
from sequoia_core.queues import QueueName

router = APIRouter(prefix="/api/async", tags=["async"])

ActiveState = Annotated[str | None, Query(pattern=f"^({'|'.join(lifecycle.values(ACTIVE_STATES))})$")]
_NOT_FOUND = {404: {"model": ErrorBody}}


@router.get("/async-tasks/{task_id}", response_model=TaskStatus, responses=_NOT_FOUND, dependencies=[Reader])
async def read_task(task_id: UUID, state: State) -> Response:
    """Status of one derivative task and the media item it serves."""
    return json_response(await tasks.read_task(state, task_id))


@router.get("/async-tasks", response_model=TaskPage, responses={422: {"model": ErrorBody}}, dependencies=[Reader])
async def list_active_tasks(
    sequoia: State,
    voyage: Annotated[str | None, Query(max_length=64)] = None,
    queue: QueueName | None = None,
    media_kind: MediaKindName | None = None,
    state: ActiveState = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TaskPage:
    """Active tasks (queued, processing, retrying), newest first, with filters and a cursor."""
    flt = ActiveFilter(voyage_slug=voyage, queue=queue.value if queue else None, media_kind=media_kind, state=state)
    return await tasks.active_tasks(sequoia, flt, cursor, limit)


@router.post("/async-tasks/{task_id}/cancel", response_model=CancelResult,
             responses={**IDEMPOTENT_RESPONSES, 404: {"model": ErrorBody},
                        409: {"model": ErrorBody, "description": "the task is finished or was replaced; or "
                                                                 + IDEMPOTENT_RESPONSES[409]["description"]}},
             openapi_extra=IDEMPOTENT_OPENAPI, dependencies=[Writer])
def cancel_task(task_id: UUID, state: State, request: Request, key: IdempotencyKey) -> Response:
    """Cancel a task: a waiting one at once, a running one by revoking it with terminate."""
    return idempotent(state, request, key, body_hash(), lambda: json_response(tasks.cancel_task(state, task_id)))


@router.get("/media-processing-status/{voyage_slug}", response_model=VoyageStatus, responses=_NOT_FOUND,
            dependencies=[Reader])
async def read_voyage_status(
    voyage_slug: VoyageSlug, state: State,
    failed_limit: Annotated[int, Query(ge=0, le=1000, description="how many recent failures to list")] = 20,
) -> Response:
    """Counts by state and kind, stale items, progress, the most recent failed items and the batches of one voyage."""
    return json_response(await voyages.read_voyage_status(state, voyage_slug, failed_limit))


@router.get("/thumbnail-generation-stats", response_model=GenerationStats,
            responses={422: {"model": ErrorBody}}, dependencies=[Reader])
def read_generation_stats(
    state: State,
    window: Annotated[str, Query(max_length=7, pattern=stats.WINDOW_PATTERN, examples=["1h"])] = "1h",
) -> GenerationStats:
    """Totals, failure rate and throughput over a window, runtime percentiles per kind, queue depths."""
    return stats.generation_stats(state, window)


@router.post("/retry-failed-thumbnails", response_model=RetryResult,
             responses={422: {"model": ErrorBody}, **IDEMPOTENT_RESPONSES}, openapi_extra=IDEMPOTENT_OPENAPI,
             dependencies=[Writer])
def retry_failed_thumbnails(state: State, request: Request, key: IdempotencyKey,
                            body: RetryRequest | None = None) -> Response:
    """Requeue failed items (filters, limit, dry run); permanent errors only with `include_permanent`."""
    body = body or RetryRequest()
    return idempotent(state, request, key, body_hash(body), lambda: json_response(retry.retry_failed(state, body)))


@router.post("/rerender-stale", response_model=RerenderResult, responses={422: {"model": ErrorBody}},
             dependencies=[Writer])
def rerender_stale(state: State, request: RerenderRequest | None = None) -> RerenderResult:
    """Render again the items made under other recipe versions than the current ones (filters, limit, dry run)."""
    return rerender.rerender_stale(state, request or RerenderRequest())


@router.get("/worker-health", response_model=WorkerHealth, responses={503: {"model": WorkerHealth}},
            dependencies=[Reader])
def read_worker_health(state: State) -> JSONResponse:
    """Workers online, depth and oldest age per queue: healthy/degraded (200) or unhealthy (503)."""
    report = worker_health.worker_health(state)
    return JSONResponse(report.model_dump(mode="json"), status_code=503 if report.status == "unhealthy" else 200)
