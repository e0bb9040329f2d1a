"""Published outbox entries leave Postgres once past OUTBOX_RETENTION_HOURS, in batches, on beat's
task, run by a real media worker; unpublished ones and task lookups are kept (real Postgres, Redis)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from sequoia_core.db import outbox, reports, transitions
from sequoia_media.pruner import prune_outbox
from tests.factories import png_bytes
from tests.integration.helpers import ingest_unpublished
from tests.support import services

DAY = timedelta(hours=24)


def _age(pool, entry, published_ago: timedelta | None, created_ago: timedelta) -> None:
    with pool.connection() as conn:
        conn.execute("UPDATE task_outbox SET created_at = now() - %s, published_at = now() - %s::interval "
                     "WHERE id = %s", (created_ago, published_ago, entry.id))


def _remaining(pool, entries) -> set[int]:
    with pool.connection() as conn:
        rows = conn.execute("SELECT id FROM task_outbox WHERE id = ANY(%s)", ([e.id for e in entries],)).fetchall()
    return {row[0] for row in rows}


@pytest.fixture
def aged_entries(api_state, pool, voyage):
    """Five entries: three published two days ago, one published an hour ago, one never published."""
    _, entries = ingest_unpublished(api_state, voyage, *[(f"{i}.png", png_bytes()) for i in range(5)])
    for entry in entries[:3]:
        _age(pool, entry, published_ago=2 * DAY, created_ago=2 * DAY)
    _age(pool, entries[3], published_ago=timedelta(hours=1), created_ago=timedelta(hours=1))
    _age(pool, entries[4], published_ago=None, created_ago=2 * DAY)
    return entries


def test_prune_deletes_published_entries_past_retention_in_batches(pool, aged_entries):
    pruned = prune_outbox(pool, DAY, batch_size=2, budget_seconds=60)

    assert pruned >= 3  # other tests' entries are younger than a day
    assert _remaining(pool, aged_entries) == {aged_entries[3].id, aged_entries[4].id}, \
        "a recent published entry and an unpublished one must stay"
    assert prune_outbox(pool, DAY, batch_size=2, budget_seconds=60) == 0


def test_one_batch_per_transaction_stops_at_the_budget(pool, aged_entries):
    # A spent budget still finishes the batch it started, and leaves the rest to the next tick.
    assert prune_outbox(pool, DAY, batch_size=1, budget_seconds=0) == 1
    assert len(_remaining(pool, aged_entries[:3])) == 2


def test_task_lookup_survives_pruning_for_current_task_ids(pool, aged_entries):
    prune_outbox(pool, DAY, batch_size=1000, budget_seconds=60)
    with pool.connection() as conn:
        found = reports.find_task(conn, aged_entries[0].task_id)

    assert found is not None and found.current, "the media row answers for its current task id"
    assert found.media.id == aged_entries[0].media_id


def test_superseded_task_ids_are_answered_until_their_entry_is_pruned(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    with pool.connection() as conn:
        outbox.mark_published(conn, entry.id)
        conn.execute("UPDATE media SET processing_status = 'failed', error_code = 'corrupt_file' WHERE id = %s",
                     (entry.media_id,))
        [retried] = [e for e in transitions.retry_failed(conn, transitions.RetryFilter(voyage_slug=voyage, include_permanent=True)) if e.media_id == entry.media_id]
        outbox.mark_published(conn, retried.id)
        old = reports.find_task(conn, entry.task_id)
    assert old is not None and not old.current and retried.task_id != entry.task_id

    _age(pool, entry, published_ago=2 * DAY, created_ago=2 * DAY)
    prune_outbox(pool, DAY, batch_size=1000, budget_seconds=60)
    with pool.connection() as conn:
        assert reports.find_task(conn, entry.task_id) is None
        assert reports.find_task(conn, retried.task_id).current


def test_beat_task_prunes_through_a_real_media_worker(service_env, settings, workdir, pool, aged_entries):
    with services.running_worker(service_env, "sequoia_media.worker", "media", "media", workdir, settings) as worker:
        result = create_celery_app(settings).send_task(task_names.PRUNE_OUTBOX)
        deadline = time.monotonic() + 30
        while len(_remaining(pool, aged_entries)) > 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # polling Postgres for the worker's deletes
        assert worker.alive(), worker.log()[-2000:]
        assert f"{result.id}] succeeded" in worker.log(), worker.log()[-2000:]
    assert _remaining(pool, aged_entries) == {aged_entries[3].id, aged_entries[4].id}
