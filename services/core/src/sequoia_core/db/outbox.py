"""SQL for `task_outbox`: tasks written with their media row, published after commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass
class OutboxEntry:
    """One task to publish."""

    id: int
    media_id: UUID
    task_name: str
    task_id: UUID
    queue: str
    priority: str
    created_at: datetime
    published_at: datetime | None


_INSERT = """
INSERT INTO task_outbox (media_id, task_name, task_id, queue, priority) VALUES (%s, %s, %s, %s, %s) RETURNING *
"""
_MARK_PUBLISHED = "UPDATE task_outbox SET published_at = now() WHERE id = %s AND published_at IS NULL"
# SKIP LOCKED lets several relays run without publishing the same entry twice at once.
_CLAIM_UNPUBLISHED = """
SELECT * FROM task_outbox
 WHERE published_at IS NULL AND created_at < now() - %s
 ORDER BY created_at
 LIMIT %s
   FOR UPDATE SKIP LOCKED
"""
# Published rows are kept `retention` long (task lookups of superseded task ids read them), then
# deleted oldest id first in small batches: each batch is its own short transaction, so no lock on
# the table outlives one batch and the relay's and the API's inserts never wait behind a prune.
_PRUNE_PUBLISHED = """
DELETE FROM task_outbox
 WHERE id IN (SELECT id FROM task_outbox
               WHERE published_at < now() - %s
               ORDER BY id
               LIMIT %s)
"""


def insert_entry(conn: psycopg.Connection, media_id: UUID, task_name: str, task_id: UUID, queue: str,
                 priority: str) -> OutboxEntry:
    """Write a task to publish on `queue` (the lane of its `priority`); in the same transaction as the
    change that asks for it."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        entry = cur.execute(_INSERT, (media_id, task_name, task_id, queue, priority)).fetchone()
    assert entry is not None
    return entry


def mark_published(conn: psycopg.Connection, entry_id: int) -> None:
    """Record that the broker has the task."""
    conn.execute(_MARK_PUBLISHED, (entry_id,))


def claim_unpublished(conn: psycopg.Connection, older_than: timedelta, limit: int) -> list[OutboxEntry]:
    """Entries nobody published within `older_than`, locked for this transaction."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_CLAIM_UNPUBLISHED, (older_than, limit)).fetchall()


def prune_published_batch(conn: psycopg.Connection, retention: timedelta, batch_size: int) -> int:
    """Delete up to `batch_size` of the oldest entries published more than `retention` ago."""
    return conn.execute(_PRUNE_PUBLISHED, (retention, batch_size)).rowcount
