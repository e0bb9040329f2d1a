"""Webhook endpoints and the replay of an event (docs/webhooks.md). Writes all: a voyage-limited
token may not use them (they name no voyage in their path)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from sequoia_api.http.deps import State, Writer
from sequoia_api.schemas import (
    VOYAGE_SLUG_PATTERN,
    ErrorBody,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryOut,
    WebhookEndpoint,
    WebhookReplay,
)
from sequoia_api.services import webhooks as service

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], dependencies=[Writer], responses={
    403: {"model": ErrorBody, "description": "the token is read-only or limited to some voyages"}})

_NOT_FOUND = {404: {"model": ErrorBody}}
_INVALID = {422: {"model": ErrorBody, "description": "a bad body or query (`invalid_request`), or URL "
                                                     "(`invalid_webhook_url`)"}}


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED, responses=_INVALID)
def create_webhook(request: WebhookCreate, state: State, response: Response) -> WebhookCreated:
    """Register an endpoint; the answer holds its signing secret, shown this once and never again."""
    response.headers["Cache-Control"] = "no-store"
    return service.create_endpoint(state, request)


@router.get("", response_model=list[WebhookEndpoint], responses=_INVALID)
def list_webhooks(
    state: State,
    voyage_slug: Annotated[str | None, Query(max_length=64, pattern=VOYAGE_SLUG_PATTERN)] = None,
) -> list[WebhookEndpoint]:
    """Registered endpoints (of one voyage, when given), without their secrets."""
    return service.list_endpoints(state, voyage_slug)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=_NOT_FOUND)
def delete_webhook(endpoint_id: UUID, state: State) -> Response:
    """Remove an endpoint; its pending deliveries stop."""
    service.delete_endpoint(state, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{endpoint_id}/deliveries", response_model=list[WebhookDeliveryOut],
            responses={**_NOT_FOUND, **_INVALID})
def list_webhook_deliveries(
    endpoint_id: UUID, state: State, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[WebhookDeliveryOut]:
    """An endpoint's latest deliveries, newest first, each with every attempt (status, code, duration, error)."""
    return service.list_deliveries(state, endpoint_id, limit)


@router.post("/events/{event_id}/replay", response_model=WebhookReplay, status_code=status.HTTP_202_ACCEPTED,
             responses=_NOT_FOUND)
def replay_webhook_event(event_id: UUID, state: State) -> WebhookReplay:
    """Send an event again to each endpoint it went to, on a fresh retry schedule."""
    return service.replay_event(state, event_id)
