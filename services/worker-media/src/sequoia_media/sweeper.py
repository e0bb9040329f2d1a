"""The sweeper: items left in queued/processing/retrying past the deadline get a fresh task, until
they run out of attempts and fail with `max_attempts` (a poison file ends there, without looping)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from celery import Celery
from psycopg_pool import ConnectionPool

from sequoia_core import dispatch
from sequoia_core.db import transitions
from sequoia_core.db.pool import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    requeued: int
    gave_up: int


def sweep(pool: ConnectionPool, celery: Celery, stuck_after: timedelta, max_attempts: int,
          next_in_line: dict[str, UUID] | None = None) -> SweepResult:
    """Fail exhausted stuck items, requeue the others under new task ids, then publish.

    `next_in_line` (queue → task id at its head) spares queued items still waiting in a backlog.
    """
    with transaction(pool) as conn:
        batch_ids = transitions.give_up_stuck(conn, stuck_after, max_attempts)
        entries = transitions.requeue_stuck(conn, stuck_after, max_attempts, next_in_line=next_in_line)
    dispatch.publish_entries(pool, celery, entries)
    if entries or batch_ids:
        log.warning("sweeper requeued %d stuck item(s) and failed %d with max_attempts", len(entries), len(batch_ids))
    return SweepResult(requeued=len(entries), gave_up=len(batch_ids))
