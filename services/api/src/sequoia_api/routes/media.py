"""Media items."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from sequoia_api.deps import Reader, State
from sequoia_api.schemas import ErrorBody, MediaOut
from sequoia_api.views import media_out
from sequoia_core.db import media
from sequoia_core.db.pool import transaction
from sequoia_core.errors import NotFound

router = APIRouter(prefix="/api/media", tags=["media"], dependencies=[Reader])


@router.get("/{media_id}", response_model=MediaOut, responses={404: {"model": ErrorBody}})
def read_media(media_id: UUID, state: State) -> MediaOut:
    """State, error and derivatives (with presigned URLs) of one media item."""
    with transaction(state.pool) as conn:
        row = media.get_media(conn, media_id)
    if row is None:
        raise NotFound(f"no media item {media_id}")
    return media_out(row, state.storage)
