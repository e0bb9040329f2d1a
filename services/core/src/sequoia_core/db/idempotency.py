"""SQL for `idempotency_keys`: the first answer to each Idempotency-Key of a principal.

A call claims its key before it runs (a row without an answer), then completes it with the answer,
or deletes the claim when it fails, so a retry runs afresh. A claim whose call died with its process
is taken over once older than the lease; completed rows live until the pruner deletes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row


@dataclass
class IdempotencyRow:
    """One key: what call it was first used for, and its answer once that call finished."""

    principal: str
    key: str
    route: str
    request_hash: str
    status_code: int | None
    content_type: str | None
    response_body: bytes | None
    created_at: datetime
    completed_at: datetime | None


_CLAIM = """
INSERT INTO idempotency_keys (principal, key, route, request_hash) VALUES (%s, %s, %s, %s)
ON CONFLICT (principal, key) DO NOTHING
RETURNING *
"""
# Only an unanswered claim of the same call, older than the lease, is taken over: its call died
# with its API process (a live call answers or releases within the lease).
_TAKE_OVER = """
UPDATE idempotency_keys SET created_at = now()
 WHERE principal = %s AND key = %s AND route = %s AND request_hash = %s
   AND status_code IS NULL AND created_at < now() - %s
RETURNING *
"""
_GET = "SELECT * FROM idempotency_keys WHERE principal = %s AND key = %s"
_COMPLETE = """
UPDATE idempotency_keys SET status_code = %s, content_type = %s, response_body = %s, completed_at = now()
 WHERE principal = %s AND key = %s AND status_code IS NULL
"""
_RELEASE = "DELETE FROM idempotency_keys WHERE principal = %s AND key = %s AND status_code IS NULL"
# Oldest first, in small batches: each its own short transaction (like the outbox pruner).
_PRUNE = """
DELETE FROM idempotency_keys
 WHERE (principal, key) IN (SELECT principal, key FROM idempotency_keys
                             WHERE created_at < now() - %s
                             ORDER BY created_at
                             LIMIT %s)
"""


def claim(conn: psycopg.Connection, principal: str, key: str, route: str, request_hash: str,
          lease: timedelta) -> IdempotencyRow | None:
    """Claim `key` for this call; None when the key is already taken (see `get`)."""
    with conn.cursor(row_factory=class_row(IdempotencyRow)) as cur:
        row = cur.execute(_CLAIM, (principal, key, route, request_hash)).fetchone()
        if row is None:
            row = cur.execute(_TAKE_OVER, (principal, key, route, request_hash, lease)).fetchone()
    return row


def get(conn: psycopg.Connection, principal: str, key: str) -> IdempotencyRow | None:
    """The row of a key, answered or still running."""
    with conn.cursor(row_factory=class_row(IdempotencyRow)) as cur:
        return cur.execute(_GET, (principal, key)).fetchone()


def complete(conn: psycopg.Connection, principal: str, key: str, status_code: int, content_type: str | None,
             body: bytes) -> None:
    """Record the answer of the call that claimed the key."""
    conn.execute(_COMPLETE, (status_code, content_type, body, principal, key))


def release(conn: psycopg.Connection, principal: str, key: str) -> None:
    """Forget an unanswered claim (its call failed), so the key can be used again."""
    conn.execute(_RELEASE, (principal, key))


def prune_batch(conn: psycopg.Connection, retention: timedelta, batch_size: int) -> int:
    """Delete up to `batch_size` of the oldest keys created more than `retention` ago."""
    return conn.execute(_PRUNE, (retention, batch_size)).rowcount
