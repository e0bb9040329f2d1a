"""Voyages as a whole."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from sequoia_api.http.deps import State, VoyageSlug, Writer
from sequoia_api.http.idempotency import IDEMPOTENT_OPENAPI, IDEMPOTENT_RESPONSES, IdempotencyKey, body_hash, idempotent
from sequoia_api.http.responses import json_response
from sequoia_api.schemas import ErrorBody, VoyageDeletion
from sequoia_api.services import deletions

router = APIRouter(prefix="/api/voyages", tags=["voyages"])


@router.delete("/{voyage_slug}", response_model=VoyageDeletion, status_code=status.HTTP_202_ACCEPTED,
               responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, **IDEMPOTENT_RESPONSES},
               openapi_extra=IDEMPOTENT_OPENAPI, dependencies=[Writer])
def delete_voyage(voyage_slug: VoyageSlug, state: State, request: Request, key: IdempotencyKey) -> Response:
    """Delete every item and batch of a voyage: work in flight is cancelled, every read forgets them
    at once, and their originals and derivatives leave S3 shortly after. Repeating it reports progress."""
    return idempotent(state, request, key, body_hash(), lambda: json_response(
        deletions.delete_voyage(state, voyage_slug), status.HTTP_202_ACCEPTED))
