"""Voyages as a whole."""

from __future__ import annotations

from fastapi import APIRouter, status

from sequoia_api.http.deps import State, VoyageSlug, Writer
from sequoia_api.schemas import ErrorBody, VoyageDeletion
from sequoia_api.services import deletions

router = APIRouter(prefix="/api/voyages", tags=["voyages"])


@router.delete("/{voyage_slug}", response_model=VoyageDeletion, status_code=status.HTTP_202_ACCEPTED,
               responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}}, dependencies=[Writer])
def delete_voyage(voyage_slug: VoyageSlug, state: State) -> VoyageDeletion:
    """Delete every item and batch of a voyage: work in flight is cancelled, every read forgets them
    at once, and their originals and derivatives leave S3 shortly after. Repeating it reports progress."""
    return deletions.delete_voyage(state, voyage_slug)
