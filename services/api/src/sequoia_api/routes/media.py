"""Media items."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from sequoia_api.http.deps import Reader, State
from sequoia_api.schemas import ErrorBody, MediaOut
from sequoia_api.services import media

router = APIRouter(prefix="/api/media", tags=["media"], dependencies=[Reader])


@router.get("/{media_id}", response_model=MediaOut, responses={404: {"model": ErrorBody}})
def read_media(media_id: UUID, state: State) -> MediaOut:
    """State, error and derivatives (with presigned URLs) of one media item."""
    return media.read_media(state, media_id)
