"""The rules that keep redeliveries, retries and the sweeper from losing or repeating work, checked
on real Postgres and Redis (the fault suite, tests/faults, proves them under real faults)."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from uuid import uuid4

from sequoia_core import broker
from sequoia_core.db import media, transitions
from tests.factories import png_bytes
from tests.integration.helpers import ingest_unpublished

LONG_AGO = timedelta(hours=1)
NEVER_STALE = timedelta(hours=2)


def _run(entry, token=None):
    return media.Run(entry.media_id, entry.task_id, token or uuid4())


def _claim(conn, run, max_attempts=3, stale_after=NEVER_STALE):
    return media.claim_for_processing(conn, run, "w@test", 4242, stale_after, max_attempts)


def test_a_retry_resumes_the_run_that_postgres_interrupted(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    run = _run(entry)
    with pool.connection() as conn:
        assert _claim(conn, run).attempts == 1
    # The run could not record its end (Postgres went away): the item is left `processing`.
    with pool.connection() as conn:
        duplicate = _claim(conn, _run(entry))
        resumed = _claim(conn, run)

    assert duplicate is None, "another delivery of the task must not run it in parallel"
    assert (resumed.attempts, resumed.retries) == (1, 1), "the retry continues the run, it is no new attempt"
    assert (resumed.run_token, resumed.worker, resumed.worker_pid) == (run.token, "w@test", 4242)


def test_a_delivery_that_finds_the_item_retrying_under_another_run_skips(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    run = _run(entry)
    with pool.connection() as conn:
        _claim(conn, run)
        assert media.mark_retrying(conn, run, "storage_unavailable", "S3 away")
        duplicate = _claim(conn, _run(entry))
        retry = _claim(conn, run)

    assert duplicate is None, "a redelivery must not start a second run beside the one waiting to retry"
    assert (retry.processing_status, retry.attempts, retry.retries) == ("processing", 1, 1)


def test_every_transition_checks_the_run_token(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    run, other = _run(entry), _run(entry)
    with pool.connection() as conn:
        _claim(conn, run)
        refused = (media.mark_retrying(conn, other, "storage_unavailable", "x"),
                   media.complete(conn, other, [], {}), media.fail(conn, other, "internal_error", "x"))
        assert media.mark_retrying(conn, run, "storage_unavailable", "x")
        assert _claim(conn, run) is not None
        completed = media.complete(conn, run, [], {})
        late_fail = media.fail(conn, run, "internal_error", "late")

    assert refused == (False, False, False), "another run's transitions must match nothing"
    assert completed is not False
    assert late_fail is False, "a finished run changes nothing"


def test_a_redelivery_after_the_hard_limit_starts_a_new_run_and_the_old_one_is_refused(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    first, second = _run(entry), _run(entry)
    with pool.connection() as conn:
        _claim(conn, first)
        conn.execute("UPDATE media SET started_at = now() - interval '2 hours' WHERE id = %s", (entry.media_id,))
        taken = _claim(conn, second, stale_after=timedelta(minutes=30))
        old_completes = media.complete(conn, first, [], {})
        new_completes = media.complete(conn, second, [], {})

    assert (taken.attempts, taken.run_token) == (2, second.token)
    assert old_completes is False, "the run that was taken over cannot record its end"
    assert new_completes is not False


def test_a_run_known_dead_is_taken_over_as_a_new_attempt(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    dead, redelivery = _run(entry), _run(entry)
    with pool.connection() as conn:
        _claim(conn, dead)
        wrong_guess = media.claim_for_processing(conn, redelivery, "w@test", 1, NEVER_STALE, 3, dead_run=uuid4())
        taken = media.claim_for_processing(conn, redelivery, "w@test", 1, NEVER_STALE, 3, dead_run=dead.token)

    assert wrong_guess is None
    assert (taken.attempts, taken.run_token, taken.worker_pid) == (2, redelivery.token, 1)


def test_no_run_starts_past_max_attempts(api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    with pool.connection() as conn:
        conn.execute("UPDATE media SET processing_status = 'queued', attempts = 3 WHERE id = %s", (entry.media_id,))
        refused = _claim(conn, _run(entry))
        conn.execute("UPDATE media SET attempts = 2 WHERE id = %s", (entry.media_id,))
        last = _claim(conn, _run(entry))

    assert refused is None
    assert last.attempts == 3


def test_sweeper_requeues_queued_items_only_once_they_left_the_line(api_state, pool, voyage):
    files = [(f"{name}.png", png_bytes()) for name in "abc"]
    _, entries = ingest_unpublished(api_state, voyage, *files)
    with pool.connection() as conn:
        for minutes, entry in enumerate(entries):  # published a minute apart, queued for an hour
            published = conn.execute("SELECT now() - %s + %s", (LONG_AGO, timedelta(minutes=minutes))).fetchone()[0]
            conn.execute("UPDATE task_outbox SET published_at = %s WHERE id = %s", (published, entry.id))
            conn.execute("UPDATE media SET processing_status = 'queued', queued_at = %s, updated_at = %s "
                         "WHERE id = %s", (published, published, entry.media_id))
        # The second message is next in line: the first left the queue and never ran, the third waits.
        requeued = transitions.requeue_stuck(conn, timedelta(minutes=30), 3,
                                           next_in_line={entries[0].queue: entries[1].task_id})
        conn.rollback()  # other tests' items must not be touched

    mine = {entry.media_id for entry in entries}
    assert {e.media_id for e in requeued} & mine == {entries[0].media_id}


def test_next_in_line_reads_the_tail_of_a_celery_queue(api_state):
    client, queue = api_state.redis, f"test-line-{secrets.token_hex(4)}"
    first, second = uuid4(), uuid4()
    try:
        assert broker.next_in_line(client, queue) is None
        for task_id in (first, second):  # kombu LPUSHes; workers pop the tail
            client.lpush(queue, json.dumps({"body": "", "headers": {"id": str(task_id)}, "properties": {}}))
        assert broker.next_in_line(client, queue) == first
        client.rpush(queue, b"not a celery message")
        assert broker.next_in_line(client, queue) is None
    finally:
        client.delete(queue)
