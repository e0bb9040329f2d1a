"""Ingest batches."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from sequoia_api.http.deps import Reader, State
from sequoia_api.schemas import BatchOut, ErrorBody
from sequoia_api.services import batches

router = APIRouter(prefix="/api/batches", tags=["batches"], dependencies=[Reader])


@router.get("/{batch_id}", response_model=BatchOut, responses={404: {"model": ErrorBody}})
def read_batch(batch_id: UUID, state: State) -> BatchOut:
    """A batch's status, its counts by state and every item."""
    return batches.read_batch(state, batch_id)
