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
    created_at: datetime
    published_at: datetime | None


_INSERT = """
INSERT INTO task_outbox (media_id, task_name, task_id, queue) VALUES (%s, %s, %s, %s) RETURNING *
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


def insert_entry(conn: psycopg.Connection, media_id: UUID, task_name: str, task_id: UUID, queue: str) -> OutboxEntry:
    """Write a task to publish; in the same transaction as the change that asks for it."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        entry = cur.execute(_INSERT, (media_id, task_name, task_id, queue)).fetchone()
    assert entry is not None
    return entry


def mark_published(conn: psycopg.Connection, entry_id: int) -> None:
    """Record that the broker has the task."""
    conn.execute(_MARK_PUBLISHED, (entry_id,))


def claim_unpublished(conn: psycopg.Connection, older_than: timedelta, limit: int) -> list[OutboxEntry]:
    """Entries nobody published within `older_than`, locked for this transaction."""
    with conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute(_CLAIM_UNPUBLISHED, (older_than, limit)).fetchall()
