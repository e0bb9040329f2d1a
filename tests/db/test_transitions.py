"""Every transition of an item's state machine, from every state: the guarded updates move exactly
the rows the state machine allows, only for the item's current task and run, and refuse everything else."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import psycopg
import pytest

from sequoia_core.db import media, transitions
from sequoia_core.db.media import Run
from sequoia_core.db.metrics import item_facts
from sequoia_core.lifecycle import CLAIMABLE_STATES, Status
from tests.db.factories import new_batch, new_item

ALL = list(Status)
RUNNING = (Status.PROCESSING, Status.RETRYING)  # states a run holds the item in
NOT_STALE = timedelta(hours=1)
MAX_ATTEMPTS = 3


def own_run(item, task_id=None) -> Run:
    """The item's run as stored: what its own calls and its retries carry."""
    return Run(item.id, task_id or item.task_id, item.run_token)


def other_run(item, task_id=None) -> Run:
    """Another run of the item's task: a fresh delivery, or a retry of an earlier run."""
    return Run(item.id, task_id or item.task_id, uuid4())


def claim(conn, run, stale_after=NOT_STALE, dead_run=None):
    return media.claim_for_processing(conn, run, "w@db", 4242, stale_after, MAX_ATTEMPTS, dead_run)


def status_of(conn, item) -> str:
    return media.get_media(conn, item.id).processing_status


def assert_unchanged(conn, item):
    row = media.get_media(conn, item.id)
    assert (row.processing_status, row.run_token, row.attempts, row.retries, row.task_id) == (
        item.processing_status, item.run_token, item.attempts, item.retries, item.task_id)


@pytest.mark.parametrize("state", ALL)
def test_mark_queued_only_from_pending(conn, state):
    item = new_item(conn, state)

    moved = media.mark_queued(conn, item.id, item.task_id)

    assert moved == (state == Status.PENDING)
    assert status_of(conn, item) == (Status.QUEUED if moved else state)


@pytest.mark.parametrize("state", ALL)
def test_a_fresh_delivery_starts_a_new_run_only_from_pending_and_queued(conn, state):
    item = new_item(conn, state)
    run = other_run(item)

    claimed = claim(conn, run)

    if state in CLAIMABLE_STATES:
        assert (claimed.processing_status, claimed.run_token) == (Status.PROCESSING, run.token)
        assert (claimed.worker, claimed.worker_pid) == ("w@db", 4242)
        assert (claimed.attempts, claimed.retries) == (item.attempts + 1, item.retries)
    else:  # final, or held by a live run (a `retrying` one included: the sweeper reclaims it if dead)
        assert claimed is None
        assert_unchanged(conn, item)


def test_a_never_claimed_item_starts_its_first_run(conn):
    item = new_item(conn, Status.QUEUED, run_token=None)

    claimed = claim(conn, other_run(item))

    assert (claimed.processing_status, claimed.attempts, claimed.retries) == (Status.PROCESSING, 1, 0)


@pytest.mark.parametrize("state", ALL)
def test_claim_with_another_task_id_is_refused_in_every_state(conn, state):
    item = new_item(conn, state, age=timedelta(days=1))
    stale_task = uuid4()

    assert claim(conn, other_run(item, stale_task), stale_after=timedelta(0)) is None
    assert claim(conn, own_run(item, stale_task)) is None  # a retry of the superseded task's run
    assert claim(conn, other_run(item, stale_task), dead_run=item.run_token) is None
    assert_unchanged(conn, item)


def test_a_processing_item_is_taken_over_by_a_fresh_delivery_only_once_stale(conn):
    fresh = new_item(conn, Status.PROCESSING, age=timedelta(minutes=5))
    stale = new_item(conn, Status.PROCESSING, age=timedelta(hours=2))
    run = other_run(stale)

    assert claim(conn, other_run(fresh)) is None  # another delivery while the run is alive
    assert_unchanged(conn, fresh)
    reclaimed = claim(conn, run)
    assert (reclaimed.attempts, reclaimed.retries, reclaimed.run_token) == (2, 0, run.token)  # a new run


def test_a_stale_run_claimed_before_run_tokens_is_taken_over_too(conn):
    # A row claimed by a worker of before migration 006 has no token: the claim must not compute NULL.
    stale = new_item(conn, Status.PROCESSING, age=timedelta(hours=2), run_token=None)
    run = other_run(stale)

    reclaimed = claim(conn, run)
    assert (reclaimed.attempts, reclaimed.retries, reclaimed.run_token) == (2, 0, run.token)


def test_a_retrying_item_is_never_taken_by_a_fresh_delivery(conn):
    item = new_item(conn, Status.RETRYING, age=timedelta(days=1))

    assert claim(conn, other_run(item), stale_after=timedelta(0)) is None
    assert claim(conn, other_run(item), stale_after=timedelta(0), dead_run=item.run_token) is None
    assert_unchanged(conn, item)


def test_a_run_known_dead_is_taken_over_at_once(conn):
    item = new_item(conn, Status.PROCESSING, age=timedelta(minutes=5))
    run = other_run(item)

    assert claim(conn, run, dead_run=uuid4()) is None  # another run is dead, not the one holding the item
    assert_unchanged(conn, item)
    taken = claim(conn, run, dead_run=item.run_token)
    assert (taken.attempts, taken.retries, taken.run_token) == (item.attempts + 1, item.retries, run.token)


@pytest.mark.parametrize("state", ALL)
def test_a_retry_with_its_runs_token_continues_it(conn, state):
    item = new_item(conn, state)

    continued = claim(conn, own_run(item))

    if state in RUNNING:  # after an error it recorded (`retrying`) or could not record (`processing`)
        assert (continued.processing_status, continued.run_token) == (Status.PROCESSING, item.run_token)
        assert (continued.attempts, continued.retries) == (item.attempts, item.retries + 1)
    elif state in CLAIMABLE_STATES:  # its run was requeued meanwhile: this delivery starts a new one
        assert (continued.attempts, continued.retries) == (item.attempts + 1, item.retries)
    else:
        assert continued is None
        assert_unchanged(conn, item)


@pytest.mark.parametrize("state", RUNNING)
def test_a_retry_of_another_run_does_not_take_over(conn, state):
    item = new_item(conn, state)
    earlier = new_item(conn, state)  # any token but the one holding `item`

    assert claim(conn, Run(item.id, item.task_id, earlier.run_token)) is None
    assert_unchanged(conn, item)


@pytest.mark.parametrize("state", [Status.PENDING, Status.QUEUED, Status.PROCESSING])
def test_no_new_run_past_max_attempts(conn, state):
    spent = new_item(conn, state, attempts=MAX_ATTEMPTS, age=timedelta(days=1))
    last = new_item(conn, state, attempts=MAX_ATTEMPTS - 1, age=timedelta(days=1))

    assert claim(conn, other_run(spent), stale_after=timedelta(0)) is None
    assert claim(conn, other_run(spent), dead_run=spent.run_token) is None
    assert_unchanged(conn, spent)
    assert claim(conn, other_run(last), stale_after=timedelta(0)).attempts == MAX_ATTEMPTS


@pytest.mark.parametrize("state", RUNNING)
def test_a_retry_may_continue_its_run_past_max_attempts(conn, state):
    item = new_item(conn, state, attempts=MAX_ATTEMPTS)

    continued = claim(conn, own_run(item))

    assert (continued.attempts, continued.retries) == (MAX_ATTEMPTS, 1)


@pytest.mark.parametrize("state", ALL)
def test_complete_only_by_its_run_from_processing(conn, state):
    item = new_item(conn, state)

    assert media.complete(conn, own_run(item, uuid4()), [], {}) is False  # never another task's
    assert media.complete(conn, other_run(item), [], {}) is False  # nor another run's
    assert_unchanged(conn, item)
    done = media.complete(conn, own_run(item), [{"name": "thumbnail"}], {"width": 1})

    if state == Status.PROCESSING:
        row = media.get_media(conn, item.id)
        assert done is None and row.processing_status == Status.COMPLETED  # None: the item has no batch
        assert row.derivatives == [{"name": "thumbnail"}] and row.completed_at is not None
        assert row.metadata == {"width": 1}
    else:
        assert done is False
        assert_unchanged(conn, item)


@pytest.mark.parametrize("state", ALL)
def test_fail_only_by_its_run_from_processing(conn, state):
    item = new_item(conn, state)

    assert media.fail(conn, own_run(item, uuid4()), "corrupt_file", "no") is False
    assert media.fail(conn, other_run(item), "corrupt_file", "no") is False
    assert_unchanged(conn, item)
    failed = media.fail(conn, own_run(item), "corrupt_file", "bad file")

    if state == Status.PROCESSING:
        row = media.get_media(conn, item.id)
        assert failed is None and (row.processing_status, row.error_code) == (Status.FAILED, "corrupt_file")
        assert row.error_message == "bad file" and row.completed_at is not None
    else:
        assert failed is False
        assert_unchanged(conn, item)


@pytest.mark.parametrize("end", ["complete", "fail"])
def test_a_run_that_ends_its_item_returns_the_facts_a_read_would_find(conn, end):
    batch_id = new_batch(conn, total_items=1)
    item = new_item(conn, Status.PROCESSING, batch_id=batch_id)

    if end == "complete":
        ended = media.complete_run(conn, own_run(item), [{"name": "thumbnail"}], {"width": 1})
    else:
        ended = media.fail_run(conn, own_run(item), "corrupt_file", "bad file")

    assert ended.batch_id == batch_id
    assert ended.facts == item_facts(conn, item.id)  # read after the batch was finalised, in the same transaction
    assert ended.facts.processing_status == (Status.COMPLETED if end == "complete" else Status.FAILED)
    assert (ended.facts.end_to_end_seconds is not None) == (end == "complete")


def test_a_run_refused_its_end_returns_nothing(conn):
    item = new_item(conn, Status.PROCESSING)

    assert media.complete_run(conn, other_run(item), [], {}) is None
    assert media.fail_run(conn, other_run(item), "corrupt_file", "no") is None
    assert_unchanged(conn, item)


def test_fail_keeps_the_message_bounded(conn):
    item = new_item(conn, Status.PROCESSING)

    media.fail(conn, own_run(item), "internal_error", "x" * 10_000)

    assert len(media.get_media(conn, item.id).error_message) == 2000


@pytest.mark.parametrize("state", ALL)
def test_mark_retrying_only_by_its_run_from_processing(conn, state):
    item = new_item(conn, state)

    assert media.mark_retrying(conn, own_run(item, uuid4()), "storage_unavailable", "down") is False
    assert media.mark_retrying(conn, other_run(item), "storage_unavailable", "down") is False
    assert_unchanged(conn, item)
    moved = media.mark_retrying(conn, own_run(item), "storage_unavailable", "S3 down")

    assert moved == (state == Status.PROCESSING)
    row = media.get_media(conn, item.id)
    if moved:
        assert (row.processing_status, row.error_code, row.run_token) == (
            Status.RETRYING, "storage_unavailable", item.run_token)
    else:
        assert_unchanged(conn, item)


@pytest.mark.parametrize("state", ALL)
def test_lock_unfinished_run_is_its_run_unless_completed_or_held_by_another(conn, state):
    item = new_item(conn, state)

    assert media.lock_unfinished_run(conn, own_run(item, uuid4())) is False  # never another task's
    assert media.lock_unfinished_run(conn, own_run(item)) == (state != Status.COMPLETED)
    assert media.lock_unfinished_run(conn, other_run(item)) == (state not in (Status.COMPLETED, *RUNNING))


def test_a_run_refused_after_a_cancel_may_clean_up(conn):
    item = new_item(conn, Status.PROCESSING)

    transitions.cancel_task(conn, item.task_id, (Status.PROCESSING,))

    assert media.complete(conn, own_run(item), [], {}) is False
    assert media.lock_unfinished_run(conn, own_run(item)) is True  # what it uploaded is no one else's


def test_a_run_taken_over_may_not_clean_up(conn):
    item = new_item(conn, Status.PROCESSING, age=timedelta(hours=2))
    assert claim(conn, other_run(item)) is not None  # a redelivery takes the stale run over

    assert media.complete(conn, own_run(item), [], {}) is False
    assert media.lock_unfinished_run(conn, own_run(item)) is False  # the keys are the new run's now


def test_lock_unfinished_run_holds_the_row_until_the_transaction_ends(conn, database_url):
    # The row must be committed for the lock to matter to another session; it is removed afterwards.
    with psycopg.connect(database_url) as other:
        item = new_item(other, Status.CANCELLED)
        other.commit()
        try:
            assert media.lock_unfinished_run(conn, own_run(item)) is True
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM media WHERE id = %s FOR UPDATE NOWAIT", (item.id,))
            other.rollback()
            conn.rollback()
            other.execute("SELECT 1 FROM media WHERE id = %s FOR UPDATE NOWAIT", (item.id,))
        finally:
            other.rollback()
            other.execute("DELETE FROM media WHERE id = %s", (item.id,))
            other.commit()


@pytest.mark.parametrize("state", ALL)
def test_cancel_stops_waiting_and_running_items_only(conn, state):
    item = new_item(conn, state)
    cancellable = (*CLAIMABLE_STATES, Status.PROCESSING)  # what the API's cancel asks for

    cancelled = transitions.cancel_task(conn, item.task_id, cancellable)

    if state in cancellable:
        assert (cancelled.media_id, cancelled.previous_status) == (item.id, state)
        assert status_of(conn, item) == Status.CANCELLED
    else:
        assert cancelled is None and status_of(conn, item) == state


def test_cancel_of_an_unknown_or_superseded_task_changes_nothing(conn):
    item = new_item(conn, Status.QUEUED)

    assert transitions.cancel_task(conn, uuid4(), tuple(Status)) is None
    assert status_of(conn, item) == Status.QUEUED


@pytest.mark.parametrize("state", ALL)
def test_retry_failed_requeues_failed_items_only_under_a_new_task(conn, state):
    voyage = f"retry-{state}"
    item = new_item(conn, state, voyage=voyage, error_code="storage_unavailable", attempts=3, retries=8)

    entries = transitions.retry_failed(conn, transitions.RetryFilter(voyage_slug=voyage))

    row = media.get_media(conn, item.id)
    if state == Status.FAILED:
        [entry] = entries
        assert entry.media_id == item.id and entry.task_id == row.task_id != item.task_id
        assert (row.processing_status, row.attempts, row.retries, row.error_code) == (Status.PENDING, 0, 0, None)
        assert claim(conn, own_run(item)) is None  # the old task's retries and deliveries now match nothing
        assert claim(conn, other_run(item)) is None
    else:
        assert entries == [] and row.processing_status == state and row.task_id == item.task_id


def test_retry_failed_leaves_permanent_errors_unless_asked(conn):
    voyage = "retry-permanent"
    corrupt = new_item(conn, Status.FAILED, voyage=voyage, error_code="corrupt_file")
    transient = new_item(conn, Status.FAILED, voyage=voyage, error_code="storage_unavailable")

    first = transitions.retry_failed(conn, transitions.RetryFilter(voyage_slug=voyage))
    second = transitions.retry_failed(conn, transitions.RetryFilter(voyage_slug=voyage, include_permanent=True))

    assert [e.media_id for e in first] == [transient.id]
    assert [e.media_id for e in second] == [corrupt.id]
