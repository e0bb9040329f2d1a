"""Webhook endpoints: register (the secret made here and answered once), list, delete, read their
deliveries, replay an event (docs/webhooks.md)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from sequoia_api.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryOut,
    WebhookEndpoint,
    WebhookReplay,
)
from sequoia_api.state import ApiState
from sequoia_core import webhooks
from sequoia_core.db import webhooks as webhook_db
from sequoia_core.db.pool import transaction
from sequoia_core.errors import ErrorCode, NotFound, PermanentError

log = logging.getLogger(__name__)


def check_url(url: str) -> None:
    """An http(s) URL with a host and no credentials in it (they would be shown in every listing)."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = None
    if (parts is None or not port_ok or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.username is not None or parts.password is not None):
        raise PermanentError("the URL must be http:// or https:// with a host and no user or password",
                             code=ErrorCode.INVALID_WEBHOOK_URL)


def create_endpoint(state: ApiState, request: WebhookCreate) -> WebhookCreated:
    """Register an endpoint with a fresh secret, answered this once."""
    check_url(request.url)
    secret = webhooks.new_secret()
    with transaction(state.pool) as conn:
        endpoint = webhook_db.insert_endpoint(conn, uuid4(), request.url, request.voyage_slug,
                                              sorted(set(request.event_types)), request.description, secret)
    log.info("webhook endpoint %s registered for %s", endpoint.id, request.voyage_slug or "every voyage")
    return WebhookCreated(**endpoint.__dict__, secret=secret)


def list_endpoints(state: ApiState, voyage_slug: str | None) -> list[WebhookEndpoint]:
    """The endpoints (of one voyage, when given), without secrets."""
    with transaction(state.pool) as conn:
        return [WebhookEndpoint(**e.__dict__) for e in webhook_db.list_endpoints(conn, voyage_slug)]


def delete_endpoint(state: ApiState, endpoint_id: UUID) -> None:
    """Remove an endpoint; its pending deliveries stop."""
    with transaction(state.pool) as conn:
        if not webhook_db.delete_endpoint(conn, endpoint_id):
            raise NotFound(f"no webhook endpoint {endpoint_id}")
    log.info("webhook endpoint %s deleted", endpoint_id)


def list_deliveries(state: ApiState, endpoint_id: UUID, limit: int) -> list[WebhookDeliveryOut]:
    """The endpoint's latest deliveries with their attempt logs."""
    with transaction(state.pool) as conn:
        found = webhook_db.list_deliveries(conn, endpoint_id, limit)
    if found is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return [WebhookDeliveryOut.model_validate(d.__dict__) for d in found]


def replay_event(state: ApiState, event_id: UUID) -> WebhookReplay:
    """Send an event again to each endpoint it went to."""
    with transaction(state.pool) as conn:
        count = webhook_db.replay_event(conn, event_id)
    if count is None:
        raise NotFound(f"no webhook event {event_id} (unknown, or pruned)")
    return WebhookReplay(event_id=event_id, deliveries=count)
