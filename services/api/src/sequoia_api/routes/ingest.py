"""Ingest of originals for a voyage: multipart uploads, or registration of objects already in S3."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from sequoia_api.http.deps import State, VoyageSlug, Writer
from sequoia_api.http.errors import ApiError
from sequoia_api.http.metrics import count_ingest
from sequoia_api.http.multipart import FILES_FIELD, MultipartSpooler, UploadLimits
from sequoia_api.schemas import ErrorBody, ErrorInfo, IngestedFile, IngestResponse, RegisterRequest
from sequoia_api.services import ingest as service
from sequoia_api.services.ingest import Accepted, Rejected
from sequoia_api.state import ApiState
from sequoia_core import broker, tasks
from sequoia_core.errors import ErrorCode
from sequoia_core.queues import Priority, queue_for

router = APIRouter(prefix="/api/voyages", tags=["ingest"], dependencies=[Writer])

IngestPriority = Annotated[Priority, Query(description="`live` (fresh work, served first) or `backfill` (history, "
                                                       "re-renders: a share of the workers while live work waits)")]
_RESPONSES = {
    201: {"model": IngestResponse, "description": "synchronous mode: every derivative made (or failed)"},
    415: {"model": ErrorBody, "description": "no file was of an allowed type"},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody, "description": "back-pressure: the queue is full, retry later"},
}
# The upload body is parsed by the handler (streamed to disk), so its schema is stated here.
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FILES_FIELD],
    "properties": {FILES_FIELD: {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}},
}}}}}


def _check_backpressure(state: ApiState, priority: Priority) -> None:
    """Refuse new work while the lane it would join is past its limit, instead of piling up (a deep
    backfill backlog never refuses live work)."""
    queue = queue_for(tasks.GENERATE_DERIVATIVES, priority).value
    depth = broker.queue_depths(state.redis)[queue]
    if depth > state.settings.ingest_max_queue_depth:
        raise ApiError(status.HTTP_503_SERVICE_UNAVAILABLE, ErrorCode.BACKPRESSURE,
                       f"{depth} tasks wait in the {queue} queue (limit {state.settings.ingest_max_queue_depth})",
                       headers={"Retry-After": "30"})


def _file_result(result: Accepted | Rejected) -> IngestedFile:
    if isinstance(result, Rejected):
        return IngestedFile(filename=result.filename, status="rejected",
                            error=ErrorInfo(code=result.error.code, message=result.error.message))
    item = result.item
    return IngestedFile(filename=result.filename, status="accepted", media_id=item.id, task_id=item.task_id,
                        media_kind=item.media_kind)


def _respond(state: ApiState, voyage_slug: str, batch_id: UUID | None, results: list[Accepted | Rejected],
             response: Response) -> IngestResponse:
    count_ingest(results)
    body = IngestResponse(
        batch_id=batch_id,
        voyage_slug=voyage_slug,
        accepted=sum(isinstance(r, Accepted) for r in results),
        rejected=sum(isinstance(r, Rejected) for r in results),
        files=[_file_result(r) for r in results],
    )
    if batch_id is None:
        raise ApiError(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, ErrorCode.UNSUPPORTED_TYPE,
                       "no file was accepted", detail=body.model_dump(mode="json"))
    if not state.settings.async_thumbnails:
        # Synchronous mode (ASYNC_THUMBNAILS=false): the work still runs on the workers, the call just waits for it.
        finished = service.wait_until_final(state, [f.media_id for f in body.files if f.media_id])
        for f in body.files:
            if f.media_id in finished:
                f.media = finished[f.media_id]
                f.status = finished[f.media_id].status
        response.status_code = status.HTTP_201_CREATED
    return body


@router.post("/{voyage_slug}/media", response_model=IngestResponse, status_code=status.HTTP_202_ACCEPTED,
             responses=_RESPONSES, openapi_extra=_UPLOAD_BODY)
async def ingest_media(voyage_slug: VoyageSlug, request: Request, state: State, response: Response,
                       priority: IngestPriority = Priority.LIVE) -> IngestResponse:
    """Upload one or many originals (multipart field `files`); each is stored and its derivatives queued (202).

    A file of a type that is not allowed is refused on its own (`rejected` with a code); the rest go on.
    With `ASYNC_THUMBNAILS=false` the call waits for the derivatives and answers 201.
    """
    await run_in_threadpool(_check_backpressure, state, priority)
    settings = state.settings
    spooler = MultipartSpooler(UploadLimits(settings.max_upload_files, settings.max_upload_fields,
                                            settings.upload_spool_dir))
    try:
        files = await spooler.parse(request.headers.get("content-type", ""), request.stream())
        if not files:
            raise ApiError(status.HTTP_422_UNPROCESSABLE_CONTENT, ErrorCode.INVALID_REQUEST,
                           f"at least one file is required in the `{FILES_FIELD}` field")
        batch_id, results = await run_in_threadpool(service.ingest, state, voyage_slug, files, priority)
        return await run_in_threadpool(_respond, state, voyage_slug, batch_id, results, response)
    finally:
        spooler.close()


@router.post("/{voyage_slug}/media/register", response_model=IngestResponse, status_code=status.HTTP_202_ACCEPTED,
             responses=_RESPONSES)
def register_media(voyage_slug: VoyageSlug, request: RegisterRequest, state: State, response: Response,
                   priority: IngestPriority = Priority.LIVE) -> IngestResponse:
    """Register originals a pipeline already put in the bucket (each must exist); derivatives are queued."""
    _check_backpressure(state, priority)
    originals = [(item.key, item.filename) for item in request.items]
    batch_id, results = service.register(state, voyage_slug, originals, priority)
    return _respond(state, voyage_slug, batch_id, results, response)
