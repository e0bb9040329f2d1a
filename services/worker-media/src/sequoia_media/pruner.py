"""The pruner: what is done and past its retention leaves Postgres in small batches, so no table
grows without bound (published `task_outbox` rows: one or more per item)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from psycopg_pool import ConnectionPool

from sequoia_core.db import outbox
from sequoia_core.db.pool import transaction

log = logging.getLogger(__name__)


def prune_outbox(pool: ConnectionPool, retention: timedelta, batch_size: int, budget_seconds: float) -> int:
    """Delete published outbox entries older than `retention`, one short transaction per batch,
    until none is left or `budget_seconds` have gone (the next beat tick goes on); returns how many."""
    deadline = time.monotonic() + budget_seconds
    pruned = 0
    while True:
        with transaction(pool) as conn:
            deleted = outbox.prune_published_batch(conn, retention, batch_size)
        pruned += deleted
        if deleted < batch_size or time.monotonic() >= deadline:
            break
    if pruned:
        log.info("pruned %d published outbox entries older than %s", pruned, retention)
    return pruned
