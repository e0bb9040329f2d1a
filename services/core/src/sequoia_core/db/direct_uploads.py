"""SQL for `direct_uploads`: presigned uploads handed out by the API, until completed or aborted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass
class DirectUpload:
    """One upload a client sends straight to S3."""

    id: UUID
    voyage_slug: str
    key: str
    filename: str
    size_bytes: int
    s3_upload_id: str | None
    part_size: int | None
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    media_id: UUID | None


_INSERT = """
INSERT INTO direct_uploads (id, voyage_slug, key, filename, size_bytes, expires_at)
VALUES (%(id)s, %(voyage_slug)s, %(key)s, %(filename)s, %(size_bytes)s, %(expires_at)s)
RETURNING *
"""
_SET_MULTIPART = "UPDATE direct_uploads SET s3_upload_id = %s, part_size = %s WHERE id = %s RETURNING *"
_LOCK = "SELECT * FROM direct_uploads WHERE id = %s AND voyage_slug = %s FOR UPDATE"
_COMPLETE = "UPDATE direct_uploads SET completed_at = now(), media_id = %s WHERE id = %s"
_DELETE = "DELETE FROM direct_uploads WHERE id = %s"
# One expired upload at a time, skipped if another janitor or a completion holds it.
_NEXT_EXPIRED = """
SELECT * FROM direct_uploads WHERE completed_at IS NULL AND expires_at < now()
 ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED
"""

_PRUNE_COMPLETED = """
DELETE FROM direct_uploads WHERE id IN (
    SELECT id FROM direct_uploads WHERE completed_at IS NOT NULL AND expires_at < now() LIMIT %s)
"""


def insert_upload(conn: psycopg.Connection, upload_id: UUID, voyage_slug: str, key: str, filename: str,
                  size_bytes: int, expires_at: datetime) -> DirectUpload:
    """Remember an upload before any URL for it exists."""
    params = {"id": upload_id, "voyage_slug": voyage_slug, "key": key, "filename": filename,
              "size_bytes": size_bytes, "expires_at": expires_at}
    with conn.cursor(row_factory=class_row(DirectUpload)) as cur:
        return cur.execute(_INSERT, params).fetchone()


def set_multipart(conn: psycopg.Connection, upload_id: UUID, s3_upload_id: str, part_size: int) -> DirectUpload:
    """Record the S3 multipart upload that carries it."""
    with conn.cursor(row_factory=class_row(DirectUpload)) as cur:
        return cur.execute(_SET_MULTIPART, (s3_upload_id, part_size, upload_id)).fetchone()


def lock_upload(conn: psycopg.Connection, upload_id: UUID, voyage_slug: str) -> DirectUpload | None:
    """The upload of this voyage, locked until the caller's transaction ends; None if there is none."""
    with conn.cursor(row_factory=class_row(DirectUpload)) as cur:
        return cur.execute(_LOCK, (upload_id, voyage_slug)).fetchone()


def mark_completed(conn: psycopg.Connection, upload_id: UUID, media_id: UUID) -> None:
    """The upload became this media item."""
    conn.execute(_COMPLETE, (media_id, upload_id))


def delete_upload(conn: psycopg.Connection, upload_id: UUID) -> None:
    """Forget an upload (refused or aborted)."""
    conn.execute(_DELETE, (upload_id,))


def lock_next_expired(conn: psycopg.Connection) -> DirectUpload | None:
    """The oldest upload past its expiry and never completed, locked; None when there is none."""
    with conn.cursor(row_factory=class_row(DirectUpload)) as cur:
        return cur.execute(_NEXT_EXPIRED).fetchone()


def prune_completed(conn: psycopg.Connection, limit: int) -> int:
    """Forget up to `limit` completed uploads past their expiry (a repeated completion is then 404)."""
    return conn.execute(_PRUNE_COMPLETED, (limit,)).rowcount
