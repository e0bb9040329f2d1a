"""The pruner: what is done and past its retention leaves Postgres in small batches, so no table
grows without bound (published `task_outbox` rows: one or more per item; finished webhook events
with their deliveries and attempt log; `idempotency_keys`: one per keyed write)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from psycopg_pool import ConnectionPool

import psycopg

from sequoia_core.db import idempotency, outbox, webhooks
from sequoia_core.db.pool import transaction

log = logging.getLogger(__name__)


def prune_outbox(pool: ConnectionPool, retention: timedelta, batch_size: int, budget_seconds: float) -> int:
    """Delete published outbox entries older than `retention`, one short transaction per batch,
    until none is left or `budget_seconds` have gone (the next beat tick goes on); returns how many."""
    pruned = _in_batches(pool, outbox.prune_published_batch, retention, batch_size, budget_seconds)
    if pruned:
        log.info("pruned %d published outbox entries older than %s", pruned, retention)
    return pruned


def prune_webhook_events(pool: ConnectionPool, retention: timedelta, batch_size: int, budget_seconds: float) -> int:
    """Delete webhook events older than `retention` whose deliveries are all finished, with their
    attempt log, the same way; returns how many events."""
    pruned = _in_batches(pool, webhooks.prune_finished_batch, retention, batch_size, budget_seconds)
    if pruned:
        log.info("pruned %d finished webhook events older than %s", pruned, retention)
    return pruned


def prune_idempotency_keys(pool: ConnectionPool, retention: timedelta, batch_size: int, budget_seconds: float) -> int:
    """Delete Idempotency-Keys (and their kept answers) created more than `retention` ago, the same
    way; returns how many."""
    pruned = _in_batches(pool, idempotency.prune_batch, retention, batch_size, budget_seconds)
    if pruned:
        log.info("pruned %d idempotency keys older than %s", pruned, retention)
    return pruned


def _in_batches(pool: ConnectionPool, prune: Callable[[psycopg.Connection, timedelta, int], int],
                retention: timedelta, batch_size: int, budget_seconds: float) -> int:
    deadline = time.monotonic() + budget_seconds
    pruned = 0
    while True:
        with transaction(pool) as conn:
            deleted = prune(conn, retention, batch_size)
        pruned += deleted
        if deleted < batch_size or time.monotonic() >= deadline:
            return pruned
