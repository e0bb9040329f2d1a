"""Publishing outbox entries to Celery: used by the API right after commit and by the relay."""

from __future__ import annotations

import logging

from celery import Celery
from psycopg_pool import ConnectionPool

from sequoia_core.db import media, outbox
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.db.pool import transaction

log = logging.getLogger(__name__)
# Celery waits forever for a free broker connection; a publish waits this long, then the relay takes over.
PUBLISH_WAIT_SECONDS = 5.0


def send(celery: Celery, entry: OutboxEntry) -> None:
    """Put one entry's task on its queue. The task id is fixed in advance, so a repeat is a duplicate
    delivery of the same task (which the guarded claim ignores), never a second item."""
    with celery.pool.acquire(block=True, timeout=PUBLISH_WAIT_SECONDS) as connection:
        celery.send_task(entry.task_name, args=[str(entry.media_id)], task_id=str(entry.task_id),
                         queue=entry.queue, connection=connection)


def publish_entries(pool: ConnectionPool, celery: Celery, entries: list[OutboxEntry]) -> int:
    """Send committed entries and record them; returns how many went out. A broker failure leaves
    the rest unpublished for the relay, so nothing is lost."""
    sent = 0
    for entry in entries:
        try:
            send(celery, entry)
        except Exception:  # kombu raises many types; the relay retries later
            log.warning("publish of task %s failed; the outbox relay will retry", entry.task_id, exc_info=True)
            break
        with transaction(pool) as conn:
            outbox.mark_published(conn, entry.id)
            media.mark_queued(conn, entry.media_id, entry.task_id)
        sent += 1
    return sent
