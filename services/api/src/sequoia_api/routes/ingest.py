"""Ingest of originals for a voyage: multipart uploads, registration of objects already in S3, and
direct uploads to S3 with presigned URLs (registered on completion)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from sequoia_api.http.deps import State, VoyageSlug, Writer
from sequoia_api.http.errors import ApiError
from sequoia_api.http.idempotency import IDEMPOTENT_OPENAPI, IDEMPOTENT_RESPONSES, IdempotencyKey, body_hash, idempotent
from sequoia_api.http.metrics import count_ingest
from sequoia_api.http.multipart import FILES_FIELD, MultipartSpooler, UploadLimits
from sequoia_api.http.responses import json_response
from sequoia_api.schemas import (
    ErrorBody,
    ErrorInfo,
    IngestedFile,
    IngestResponse,
    RegisterRequest,
    UploadCompletion,
    UploadRequest,
    UploadTicket,
)
from sequoia_api.services import direct_uploads
from sequoia_api.services import ingest as service
from sequoia_api.services.ingest import Accepted, Duplicate, FileResult, Rejected
from sequoia_api.services.uploads import SpooledFile
from sequoia_api.state import ApiState
from sequoia_core import broker, tasks
from sequoia_core.errors import ErrorCode
from sequoia_core.lifecycle import FINAL_STATES
from sequoia_core.queues import Priority, queue_for

router = APIRouter(prefix="/api/voyages", tags=["ingest"], dependencies=[Writer])

IngestPriority = Annotated[Priority, Query(description="`live` (fresh work, served first) or `backfill` (history, "
                                                       "re-renders: a share of the workers while live work waits)")]
Dedupe = Annotated[Literal["sha256"] | None, Query(
    description="`sha256`: a file whose SHA-256 the voyage already has is answered as `duplicate` with "
                "`duplicate_of`, and stored nowhere")]
_RESPONSES = {
    200: {"model": IngestResponse, "description": "`dedupe=sha256`: every file was a duplicate, nothing queued"},
    201: {"model": IngestResponse, "description": "synchronous mode: every derivative made (or failed)"},
    202: {"model": IngestResponse, "description": "queued; in synchronous mode, some items were still running "
                                                  "(`running`) when `SYNC_WAIT_TIMEOUT_SECONDS` passed"},
    415: {"model": ErrorBody, "description": "no file was of an allowed type"},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody, "description": "back-pressure: the queue is full, retry later"},
    **IDEMPOTENT_RESPONSES,
}
# The upload body is parsed by the handler (streamed to disk), so its schema is stated here.
_UPLOAD_OPENAPI = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": [FILES_FIELD],
        "properties": {FILES_FIELD: {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}},
    }}}},
    **IDEMPOTENT_OPENAPI,
}


def _check_backpressure(state: ApiState, priority: Priority) -> None:
    """Refuse new work while the lane it would join is past its limit, instead of piling up (a deep
    backfill backlog never refuses live work)."""
    queue = queue_for(tasks.GENERATE_DERIVATIVES, priority).value
    depth = broker.queue_depth(state.redis, queue)
    if depth > state.settings.ingest_max_queue_depth:
        raise ApiError(status.HTTP_503_SERVICE_UNAVAILABLE, ErrorCode.BACKPRESSURE,
                       f"{depth} tasks wait in the {queue} queue (limit {state.settings.ingest_max_queue_depth})",
                       headers={"Retry-After": "30"})


def _file_result(result: FileResult) -> IngestedFile:
    if isinstance(result, Rejected):
        return IngestedFile(filename=result.filename, status="rejected",
                            error=ErrorInfo(code=result.error.code, message=result.error.message))
    if isinstance(result, Duplicate):
        return IngestedFile(filename=result.filename, status="duplicate", media_id=result.media_id,
                            duplicate_of=result.media_id, task_id=result.task_id, media_kind=result.media_kind)
    item = result.item
    return IngestedFile(filename=result.filename, status="accepted", media_id=item.id, task_id=item.task_id,
                        media_kind=item.media_kind)


def _respond(state: ApiState, voyage_slug: str, batch_id: UUID | None, results: list[FileResult]) -> Response:
    count_ingest(results)
    body = IngestResponse(
        batch_id=batch_id,
        voyage_slug=voyage_slug,
        accepted=sum(isinstance(r, Accepted) for r in results),
        rejected=sum(isinstance(r, Rejected) for r in results),
        duplicates=sum(isinstance(r, Duplicate) for r in results),
        files=[_file_result(r) for r in results],
    )
    if batch_id is None and not body.duplicates:
        raise ApiError(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, ErrorCode.UNSUPPORTED_TYPE,
                       "no file was accepted", detail=body.model_dump(mode="json"))
    if state.settings.async_thumbnails:
        return json_response(body, status.HTTP_202_ACCEPTED if batch_id else status.HTTP_200_OK)
    # Synchronous mode (ASYNC_THUMBNAILS=false): the work still runs on the workers, the call waits for it, and
    # answers 201 only when every item is final; past the timeout, 202 with what still runs.
    latest = service.wait_for_items(state, [f.media_id for f in body.files if f.media_id])
    for f in body.files:
        if f.media_id in latest:
            f.media = latest[f.media_id]
            f.status = "duplicate" if f.duplicate_of else latest[f.media_id].status
    body.running = [media_id for media_id, item in latest.items() if item.status not in FINAL_STATES]
    return json_response(body, status.HTTP_202_ACCEPTED if body.running else status.HTTP_201_CREATED)


def _upload_hash(files: list[SpooledFile]) -> str:
    """The request hash of an upload: each file's name and SHA-256, hashed as it was spooled (so the
    multipart boundary, which a client draws anew for each retry, does not count)."""
    return body_hash(*(part for f in files for part in (f.filename.encode(), f.digest.digest())))


@router.post("/{voyage_slug}/media", response_model=IngestResponse, status_code=status.HTTP_202_ACCEPTED,
             responses=_RESPONSES, openapi_extra=_UPLOAD_OPENAPI)
async def ingest_media(voyage_slug: VoyageSlug, request: Request, state: State, key: IdempotencyKey,
                       priority: IngestPriority = Priority.LIVE, dedupe: Dedupe = None) -> Response:
    """Upload one or many originals (multipart field `files`); each is stored and its derivatives queued (202).

    A file of a type that is not allowed is refused on its own (`rejected` with a code); the rest go on.
    With `ASYNC_THUMBNAILS=false` the call waits for the derivatives: 201 when all are final, else 202.
    """
    await run_in_threadpool(_check_backpressure, state, priority)
    settings = state.settings
    spooler = MultipartSpooler(UploadLimits(settings.max_upload_files, settings.max_upload_fields,
                                            state.upload_memory, settings.upload_spool_dir))
    try:
        files = await spooler.receive(request.headers.get("content-type", ""), request.stream())
        if not files:
            raise ApiError(status.HTTP_422_UNPROCESSABLE_CONTENT, ErrorCode.INVALID_REQUEST,
                           f"at least one file is required in the `{FILES_FIELD}` field")

        def run() -> Response:
            batch_id, results = service.ingest(state, voyage_slug, files, priority, dedupe=dedupe == "sha256")
            return _respond(state, voyage_slug, batch_id, results)

        def spool_and_run() -> Response:  # the spool's last step and the call in one thread-pool hop
            spooler.finish()
            return idempotent(state, request, key, _upload_hash(files), run)

        return await run_in_threadpool(spool_and_run)
    finally:
        spooler.close()


@router.post("/{voyage_slug}/media/register", response_model=IngestResponse, status_code=status.HTTP_202_ACCEPTED,
             responses=_RESPONSES, openapi_extra=IDEMPOTENT_OPENAPI)
def register_media(voyage_slug: VoyageSlug, body: RegisterRequest, state: State, request: Request,
                   key: IdempotencyKey, priority: IngestPriority = Priority.LIVE) -> Response:
    """Register originals a pipeline already put in the bucket (each must exist); derivatives are queued."""

    def run() -> Response:
        _check_backpressure(state, priority)
        originals = [(item.key, item.filename) for item in body.items]
        batch_id, results = service.register(state, voyage_slug, originals, priority)
        return _respond(state, voyage_slug, batch_id, results)

    return idempotent(state, request, key, body_hash(body), run)


_ERRORS = {404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post("/{voyage_slug}/uploads", response_model=UploadTicket, status_code=status.HTTP_201_CREATED,
             responses={422: {"model": ErrorBody}, **IDEMPOTENT_RESPONSES}, openapi_extra=IDEMPOTENT_OPENAPI)
def create_upload(voyage_slug: VoyageSlug, body: UploadRequest, state: State, request: Request,
                  key: IdempotencyKey) -> Response:
    """Presigned URLs to send one original straight to S3: one PUT up to the multipart threshold, else
    a URL per part. Bounded by MAX_UPLOAD_BYTES (`file_too_large`); the URLs expire at `expires_at`."""
    return idempotent(state, request, key, body_hash(body), lambda: json_response(
        direct_uploads.create_upload(state, voyage_slug, body), status.HTTP_201_CREATED))


@router.post("/{voyage_slug}/uploads/{upload_id}/complete", response_model=IngestResponse,
             status_code=status.HTTP_202_ACCEPTED, responses={**_RESPONSES, **_ERRORS},
             openapi_extra=IDEMPOTENT_OPENAPI)
def complete_upload(voyage_slug: VoyageSlug, upload_id: UUID, state: State, request: Request, key: IdempotencyKey,
                    body: UploadCompletion | None = None, priority: IngestPriority = Priority.LIVE) -> Response:
    """Complete a direct upload (a multipart one with its parts' numbers and ETags) and register the
    object like `media/register`: HEADed, size-checked against the declared size, sniffed, copied."""
    parts = body.parts if body else []

    def run() -> Response:
        _check_backpressure(state, priority)
        batch_id, results = direct_uploads.complete_upload(state, voyage_slug, upload_id, parts, priority)
        return _respond(state, voyage_slug, batch_id, results)

    return idempotent(state, request, key, body_hash(body, priority.value.encode()), run)
