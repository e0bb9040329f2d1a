"""Voyages as a whole."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from sequoia_api.http.deps import State, Writer
from sequoia_api.schemas import ErrorBody, VoyageDeletion
from sequoia_api.services import deletions

router = APIRouter(prefix="/api/voyages", tags=["voyages"])

VoyageSlug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]


@router.delete("/{voyage_slug}", response_model=VoyageDeletion, status_code=status.HTTP_202_ACCEPTED,
               responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}}, dependencies=[Writer])
def delete_voyage(voyage_slug: VoyageSlug, state: State) -> VoyageDeletion:
    """Delete every item and batch of a voyage: work in flight is cancelled, every read forgets them
    at once, and their originals and derivatives leave S3 shortly after. Repeating it reports progress."""
    return deletions.delete_voyage(state, voyage_slug)
