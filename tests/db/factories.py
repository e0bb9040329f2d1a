"""Row factories for the database tier: items, batches and outbox entries in any state, dated in the past."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import psycopg

from sequoia_core.db import batches, media, outbox
from sequoia_core.db.media import MediaRow, NewMedia
from sequoia_core.lifecycle import Status
from sequoia_core.queues import Priority, queue_for
from sequoia_core.tasks import GENERATE_DERIVATIVES

# Timestamps a state sets, so a row looks as if it really passed through that state.
_STAMPS = {
    Status.PENDING: (),
    Status.QUEUED: ("queued_at",),
    Status.PROCESSING: ("queued_at", "started_at"),
    Status.RETRYING: ("queued_at", "started_at"),
    Status.COMPLETED: ("queued_at", "started_at", "completed_at"),
    Status.FAILED: ("queued_at", "started_at", "completed_at"),
    Status.CANCELLED: ("completed_at",),
}


def new_batch(conn: psycopg.Connection, total_items: int = 1, voyage: str = "db-tier") -> UUID:
    """A batch in `processing`."""
    batch_id = uuid4()
    batches.insert_batch(conn, batch_id, voyage, total_items)
    return batch_id


def new_item(conn: psycopg.Connection, status: Status = Status.PENDING, *, age: timedelta = timedelta(0),
             batch_id: UUID | None = None, voyage: str = "db-tier", priority: Priority = Priority.LIVE,
             **columns: object) -> MediaRow:
    """An item in `status`, last changed `age` before now(), under a run token of its own (as an item
    that has run, or been requeued after a run, keeps); `columns` force any other column."""
    item = NewMedia(id=uuid4(), voyage_slug=voyage, batch_id=batch_id, media_kind="image", media_format="jpeg",
                    original_filename="a.jpg", content_type="image/jpeg", size_bytes=1, checksum_sha256=None,
                    original_key=f"originals/{voyage}/a.jpg", task_id=uuid4(),
                    queue=queue_for(GENERATE_DERIVATIVES, priority).value, priority=priority.value)
    media.insert_media(conn, item)
    values = {"processing_status": str(status), "attempts": int(status not in (Status.PENDING, Status.QUEUED)),
              "run_token": uuid4(), **{stamp: None for stamp in _STAMPS[status]}, **columns}
    stamps = [name for name, value in values.items() if name.endswith("_at") and value is None]
    assignments = [f"{name} = %({name})s" for name in values if name not in stamps]
    assignments += [f"{name} = now() - %(age)s" for name in (*stamps, "updated_at")]
    conn.execute(f"UPDATE media SET {', '.join(assignments)} WHERE id = %(id)s", {**values, "age": age, "id": item.id})
    row = media.get_media(conn, item.id)
    assert row is not None
    return row


def new_entry(conn: psycopg.Connection, item: MediaRow, *, age: timedelta = timedelta(0),
              published: bool = False) -> outbox.OutboxEntry:
    """The outbox entry of `item`'s task, written `age` before now(), published then if asked."""
    entry = outbox.insert_entry(conn, item.id, GENERATE_DERIVATIVES, item.task_id, item.queue, item.priority)
    conn.execute("UPDATE task_outbox SET created_at = now() - %(age)s, "
                 "published_at = CASE WHEN %(published)s THEN now() - %(age)s END WHERE id = %(id)s",
                 {"age": age, "published": published, "id": entry.id})
    return entry

