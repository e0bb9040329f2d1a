"""Publishing outbox entries to Celery: by the API right after its commit, and by the relay."""

from __future__ import annotations

import logging

import psycopg
from celery import Celery
from psycopg_pool import ConnectionPool

from sequoia_core.broker import translated_errors
from sequoia_core.db import media, outbox
from sequoia_core.db.outbox import OutboxEntry
from sequoia_core.db.pool import transaction
from sequoia_core.errors import BrokerUnavailable

log = logging.getLogger(__name__)
# Celery waits forever for a free broker connection; a publish waits this long, then the relay takes over.
PUBLISH_WAIT_SECONDS = 5.0


def send(celery: Celery, entry: OutboxEntry) -> None:
    """Put one entry's task on its queue (`BrokerUnavailable` if Redis does not take it). The task id is
    fixed in advance, so a repeat is a duplicate delivery of the same task (which the guarded claim
    ignores), never a second item. No task keeps a result (`task_ignore_result`), and by name Celery
    does not know it: `ignore_result` spares the SUBSCRIBE and UNSUBSCRIBE to the result's channel
    its result backend would send for every task."""
    with translated_errors(), celery.pool.acquire(block=True, timeout=PUBLISH_WAIT_SECONDS) as connection:
        celery.send_task(entry.task_name, args=[str(entry.media_id)], task_id=str(entry.task_id),
                         queue=entry.queue, connection=connection, ignore_result=True)


def _record_sent(conn: psycopg.Connection, entries: list[OutboxEntry]) -> None:
    for entry in entries:
        outbox.mark_published(conn, entry.id)
        media.mark_queued(conn, entry.media_id, entry.task_id)


def _send_all(celery: Celery, entries: list[OutboxEntry]) -> list[OutboxEntry]:
    """Send entries in order; the first broker failure stops the run and leaves the rest unpublished
    for the relay's next pass, so nothing is lost. The entries that went out."""
    sent = []
    for entry in entries:
        try:
            send(celery, entry)
        except BrokerUnavailable:
            log.warning("publish of task %s failed; the outbox relay will retry", entry.task_id, exc_info=True)
            break
        sent.append(entry)
    return sent


def publish_entries(pool: ConnectionPool, celery: Celery, entries: list[OutboxEntry]) -> int:
    """Send committed entries, then record those that went out in one transaction (a transaction each
    cost the API a round trip per file); returns how many went out. Should the record fail, the relay
    sends them again: a duplicate delivery, which the guarded claim ignores."""
    sent = _send_all(celery, entries)
    if sent:
        with transaction(pool) as conn:
            _record_sent(conn, sent)
    return len(sent)


def publish_claimed(conn: psycopg.Connection, celery: Celery, entries: list[OutboxEntry]) -> int:
    """Send entries the caller's transaction has claimed (locked), recording them in it; returns how
    many went out."""
    sent = _send_all(celery, entries)
    _record_sent(conn, sent)
    return len(sent)
