"""SQL for webhook endpoints, their deliveries and the attempt log. Events and deliveries are written
by triggers on the final states (migrations/008_priority_webhooks.sql), in the transaction that
reaches them; here they are read, leased, recorded, replayed and pruned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass
class Endpoint:
    """A registered receiver, without its secret (which only its creation answers with)."""

    id: UUID
    url: str
    voyage_slug: str | None
    event_types: list[str]
    description: str
    created_at: datetime


@dataclass
class DueDelivery:
    """One attempt to make: where, with which secret, what."""

    id: int
    event_id: UUID
    endpoint_id: UUID
    attempts: int
    url: str
    secret: str
    payload: dict[str, Any]


@dataclass
class Attempt:
    """How one attempt went."""

    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str | None


_ENDPOINT_COLUMNS = "id, url, voyage_slug, event_types, description, created_at"
_INSERT_ENDPOINT = f"""
INSERT INTO webhook_endpoints (id, url, voyage_slug, event_types, description, secret)
VALUES (%(id)s, %(url)s, %(voyage_slug)s, %(event_types)s, %(description)s, %(secret)s)
RETURNING {_ENDPOINT_COLUMNS}
"""
_LIST_ENDPOINTS = f"""
SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints
 WHERE %(voyage_slug)s::text IS NULL OR voyage_slug = %(voyage_slug)s
 ORDER BY created_at, id
"""
_DELETE_ENDPOINT = "DELETE FROM webhook_endpoints WHERE id = %s"

# The sender's look before it takes its lock: one probe of the partial index, no row locked.
_ANY_DUE = """
SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now())
"""
# A lease, not a lock held across HTTP: the due rows are pushed `lease` into the future and the
# transaction ends; the attempt's record then sets the real next time. A sender that dies mid-way
# leaves its deliveries due again when the lease runs out.
_LEASE_DUE = """
WITH due AS (
    SELECT id FROM webhook_deliveries
     WHERE status = 'pending' AND next_attempt_at <= now()
     ORDER BY next_attempt_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE webhook_deliveries d SET next_attempt_at = now() + %(lease)s, updated_at = now()
      FROM due WHERE d.id = due.id
    RETURNING d.id, d.event_id, d.endpoint_id, d.attempts
)
SELECT leased.id, leased.event_id, leased.endpoint_id, leased.attempts, e.url, e.secret, ev.payload
  FROM leased
  JOIN webhook_endpoints e ON e.id = leased.endpoint_id
  JOIN webhook_events ev ON ev.id = leased.event_id
 ORDER BY leased.id
"""
# Nothing to log when the endpoint (and so the delivery) was deleted while the attempt was in flight.
_LOG_ATTEMPT = """
INSERT INTO webhook_attempts (delivery_id, outcome, status_code, duration_ms, error)
SELECT id, %(outcome)s, %(status_code)s, %(duration_ms)s, %(error)s FROM webhook_deliveries WHERE id = %(id)s
"""
_RECORD = """
UPDATE webhook_deliveries
   SET attempts = attempts + 1, status = %(status)s, updated_at = now(),
       next_attempt_at = CASE WHEN %(status)s = 'pending' THEN now() + %(delay)s ELSE next_attempt_at END
 WHERE id = %(id)s
"""
_REPLAY = """
UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
 WHERE event_id = %s
"""
_EVENT_EXISTS = "SELECT 1 FROM webhook_events WHERE id = %s"
# Finished events past the retention go with their deliveries and attempt log (ON DELETE CASCADE),
# oldest first, in small batches: one short transaction each, like the outbox pruner.
_PRUNE = """
DELETE FROM webhook_events
 WHERE id IN (SELECT ev.id FROM webhook_events ev
               WHERE ev.created_at < now() - %(retention)s
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                                  WHERE d.event_id = ev.id AND d.status = 'pending')
               ORDER BY ev.created_at
               LIMIT %(limit)s)
"""


def insert_endpoint(conn: psycopg.Connection, endpoint_id: UUID, url: str, voyage_slug: str | None,
                    event_types: list[str], description: str, secret: str) -> Endpoint:
    """Register a receiver; its secret is stored to sign with and never read back by the API."""
    params = {"id": endpoint_id, "url": url, "voyage_slug": voyage_slug, "event_types": event_types,
              "description": description, "secret": secret}
    with conn.cursor(row_factory=class_row(Endpoint)) as cur:
        endpoint = cur.execute(_INSERT_ENDPOINT, params).fetchone()
    assert endpoint is not None
    return endpoint


def list_endpoints(conn: psycopg.Connection, voyage_slug: str | None = None) -> list[Endpoint]:
    """Every endpoint (of one voyage, when given), oldest first."""
    with conn.cursor(row_factory=class_row(Endpoint)) as cur:
        return cur.execute(_LIST_ENDPOINTS, {"voyage_slug": voyage_slug}).fetchall()


def delete_endpoint(conn: psycopg.Connection, endpoint_id: UUID) -> bool:
    """Remove an endpoint with its deliveries and their attempts; False if there was none."""
    return conn.execute(_DELETE_ENDPOINT, (endpoint_id,)).rowcount == 1


def any_due(conn: psycopg.Connection) -> bool:
    """Whether some delivery is due now (a tick that finds none takes no lock and leases nothing)."""
    row = conn.execute(_ANY_DUE).fetchone()
    return bool(row and row[0])


def lease_due(conn: psycopg.Connection, limit: int, lease: timedelta) -> list[DueDelivery]:
    """Up to `limit` due deliveries, moved `lease` ahead so no other sender takes them meanwhile."""
    with conn.cursor(row_factory=class_row(DueDelivery)) as cur:
        return cur.execute(_LEASE_DUE, {"limit": limit, "lease": lease}).fetchall()


def record_attempt(conn: psycopg.Connection, delivery_id: int, attempt: Attempt, retry_in: timedelta | None) -> None:
    """Log one attempt and set what comes next: delivered, another try after `retry_in`, or failed."""
    conn.execute(_LOG_ATTEMPT, {"id": delivery_id, "outcome": "succeeded" if attempt.succeeded else "failed",
                                "status_code": attempt.status_code, "duration_ms": attempt.duration_ms,
                                "error": attempt.error})
    status = "delivered" if attempt.succeeded else ("pending" if retry_in is not None else "failed")
    conn.execute(_RECORD, {"id": delivery_id, "status": status, "delay": retry_in or timedelta(0)})


def replay_event(conn: psycopg.Connection, event_id: UUID) -> int | None:
    """Send an event again to each endpoint it went to, from a fresh schedule; None if no such event."""
    if conn.execute(_EVENT_EXISTS, (event_id,)).fetchone() is None:
        return None
    return conn.execute(_REPLAY, (event_id,)).rowcount


def prune_finished_batch(conn: psycopg.Connection, retention: timedelta, batch_size: int) -> int:
    """Delete up to `batch_size` events older than `retention` with no delivery still pending."""
    return conn.execute(_PRUNE, {"retention": retention, "limit": batch_size}).rowcount


@dataclass
class DeliveryView:
    """One delivery of an endpoint, with its attempt log (oldest attempt first)."""

    id: int
    event_id: UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempt_log: list[dict[str, Any]]


_ENDPOINT_EXISTS = "SELECT 1 FROM webhook_endpoints WHERE id = %s"
_LIST_DELIVERIES = """
SELECT d.id, d.event_id, ev.event_type, d.status, d.attempts,
       CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at, ev.created_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                            'attempted_at', a.attempted_at, 'outcome', a.outcome, 'status_code', a.status_code,
                            'duration_ms', a.duration_ms, 'error', a.error) ORDER BY a.id)
                   FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempt_log
  FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
 WHERE d.endpoint_id = %s
 ORDER BY d.id DESC
 LIMIT %s
"""


def list_deliveries(conn: psycopg.Connection, endpoint_id: UUID, limit: int) -> list[DeliveryView] | None:
    """The endpoint's latest deliveries, newest first; None if there is no such endpoint."""
    if conn.execute(_ENDPOINT_EXISTS, (endpoint_id,)).fetchone() is None:
        return None
    with conn.cursor(row_factory=class_row(DeliveryView)) as cur:
        return cur.execute(_LIST_DELIVERIES, (endpoint_id, limit)).fetchall()
