"""Media items, and the stable links of their derivatives."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sequoia_api.http.deps import Bearer, ItemWriter, Reader, State, check_anyone_reads, check_reader
from sequoia_api.http.idempotency import IDEMPOTENT_OPENAPI, IDEMPOTENT_RESPONSES, IdempotencyKey, body_hash, idempotent
from sequoia_api.http.responses import json_response
from sequoia_api.schemas import ErrorBody, MediaDeletion, MediaOut
from sequoia_api.services import deletions, media

router = APIRouter(prefix="/api/media", tags=["media"])

DerivativeName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                                     examples=["thumbnail"])]
_REDIRECT = {
    302: {"description": "a fresh presigned S3 URL of the derivative in `Location`; `Cache-Control: private, "
                         "max-age` half the presign expiry, so a cached redirect never points at an expired URL",
          "headers": {"Location": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}}},
    403: {"model": ErrorBody, "description": "the token (or gallery session) may not read the item's voyage"},
    404: {"model": ErrorBody, "description": "`not_found` (no such item) or `derivative_not_found` (not made, or not yet)"},
}


@router.get("/{media_id}", response_model=MediaOut, responses={404: {"model": ErrorBody}}, dependencies=[Reader])
def read_media(media_id: UUID, state: State) -> MediaOut:
    """State, error and derivatives (with presigned URLs and stable links) of one media item."""
    return media.read_media(state, media_id)


@router.get("/{media_id}/derivatives/{name}", status_code=status.HTTP_302_FOUND, response_class=RedirectResponse,
            responses=_REDIRECT)
async def read_derivative(media_id: UUID, name: DerivativeName, request: Request, state: State,
                          credentials: Bearer) -> Response:
    """A derivative's stable link: redirects (302) to a fresh presigned URL, so the link never expires.

    A token that reads the item's voyage, or a gallery session of that voyage, may follow it.
    """
    check_anyone_reads(request, state, credentials)
    voyage, url = await run_in_threadpool(media.derivative_url, state, media_id, name)
    check_reader(request, state, credentials, voyage)
    max_age = state.settings.presign_expiry_seconds // 2
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND,
                            headers={"Cache-Control": f"private, max-age={max_age}"})


@router.delete("/{media_id}", response_model=MediaDeletion, status_code=status.HTTP_202_ACCEPTED,
               responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, **IDEMPOTENT_RESPONSES},
               openapi_extra=IDEMPOTENT_OPENAPI)
def delete_media(media_id: UUID, state: State, voyages: ItemWriter, request: Request,
                 key: IdempotencyKey) -> Response:
    """Delete an item: its work is cancelled (a running render revoked with terminate), every read
    answers 404 at once, and its original and derivatives leave S3 shortly after (`state`: pending,
    then done). Repeating it answers the same deletion. A voyage-limited token deletes only its voyages' items."""
    return idempotent(state, request, key, body_hash(), lambda: json_response(
        deletions.delete_media(state, media_id, voyages), status.HTTP_202_ACCEPTED))
