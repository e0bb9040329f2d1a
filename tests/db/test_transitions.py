"""Every transition of an item's state machine, from every state: the guarded updates move exactly
the rows the state machine allows, only for the item's current task, and refuse everything else."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from sequoia_core.db import lifecycle, media
from sequoia_core.db.media import CLAIMABLE_STATES, Status
from tests.db.factories import new_item

ALL = list(Status)
NOT_STALE = timedelta(hours=1)
MAX_ATTEMPTS = 3


def claim(conn, item, task_id=None, resume=False, stale_after=NOT_STALE):
    return media.claim_for_processing(conn, item.id, task_id or item.task_id, "w@db", stale_after, MAX_ATTEMPTS,
                                      resume)


def status_of(conn, item) -> str:
    return media.get_media(conn, item.id).processing_status


@pytest.mark.parametrize("state", ALL)
def test_mark_queued_only_from_pending(conn, state):
    item = new_item(conn, state)

    moved = media.mark_queued(conn, item.id, item.task_id)

    assert moved == (state == Status.PENDING)
    assert status_of(conn, item) == (Status.QUEUED if moved else state)


@pytest.mark.parametrize("state", ALL)
def test_claim_starts_a_new_run_from_pending_queued_and_retrying(conn, state):
    item = new_item(conn, state)

    claimed = claim(conn, item)

    if state in CLAIMABLE_STATES:
        assert claimed.processing_status == Status.PROCESSING and claimed.worker == "w@db"
        continues = state == Status.RETRYING  # a retry continues its run: no new attempt
        assert (claimed.attempts, claimed.retries) == (item.attempts + (not continues), item.retries + continues)
    else:
        assert claimed is None
        assert status_of(conn, item) == state


@pytest.mark.parametrize("state", ALL)
def test_claim_with_another_task_id_is_refused_in_every_state(conn, state):
    item = new_item(conn, state, age=timedelta(days=1))

    assert claim(conn, item, task_id=uuid4(), stale_after=timedelta(0)) is None
    assert claim(conn, item, task_id=uuid4(), resume=True) is None
    assert status_of(conn, item) == state


def test_a_processing_item_is_reclaimed_only_once_stale(conn):
    fresh = new_item(conn, Status.PROCESSING, age=timedelta(minutes=5))
    stale = new_item(conn, Status.PROCESSING, age=timedelta(hours=2))

    assert claim(conn, fresh) is None  # another delivery while the run is alive
    reclaimed = claim(conn, stale)
    assert reclaimed.attempts == 2 and reclaimed.retries == 0  # the dead run's redelivery is a new run


@pytest.mark.parametrize("state", ALL)
def test_resume_continues_only_a_processing_or_retrying_run(conn, state):
    item = new_item(conn, state)

    resumed = claim(conn, item, resume=True)

    if state in (Status.PROCESSING, Status.RETRYING):
        assert (resumed.attempts, resumed.retries) == (item.attempts, item.retries + 1)
    elif state in CLAIMABLE_STATES:
        assert resumed.attempts == item.attempts + 1
    else:
        assert resumed is None


@pytest.mark.parametrize("state", [Status.PENDING, Status.QUEUED, Status.PROCESSING])
def test_no_new_run_past_max_attempts(conn, state):
    spent = new_item(conn, state, attempts=MAX_ATTEMPTS, age=timedelta(days=1))
    last = new_item(conn, state, attempts=MAX_ATTEMPTS - 1, age=timedelta(days=1))

    assert claim(conn, spent, stale_after=timedelta(0)) is None
    assert claim(conn, last, stale_after=timedelta(0)).attempts == MAX_ATTEMPTS


def test_a_retry_may_continue_its_run_past_max_attempts(conn):
    item = new_item(conn, Status.RETRYING, attempts=MAX_ATTEMPTS)

    assert claim(conn, item).retries == 1


@pytest.mark.parametrize("state", ALL)
def test_complete_only_from_processing(conn, state):
    item = new_item(conn, state)

    assert media.complete(conn, item.id, uuid4(), [], {}) is False  # never another task's
    done = media.complete(conn, item.id, item.task_id, [{"name": "thumbnail"}], {"width": 1})

    if state == Status.PROCESSING:
        row = media.get_media(conn, item.id)
        assert done is None and row.processing_status == Status.COMPLETED  # None: the item has no batch
        assert row.derivatives == [{"name": "thumbnail"}] and row.completed_at is not None
    else:
        assert done is False and status_of(conn, item) == state


@pytest.mark.parametrize("state", ALL)
def test_fail_from_processing_by_default(conn, state):
    item = new_item(conn, state)

    assert media.fail(conn, item.id, uuid4(), "corrupt_file", "no") is False
    failed = media.fail(conn, item.id, item.task_id, "corrupt_file", "bad file")

    if state == Status.PROCESSING:
        row = media.get_media(conn, item.id)
        assert failed is None and (row.processing_status, row.error_code) == (Status.FAILED, "corrupt_file")
    else:
        assert failed is False and status_of(conn, item) == state


@pytest.mark.parametrize("state", ALL)
def test_fail_from_the_states_asked(conn, state):
    item = new_item(conn, state)
    allowed = (Status.QUEUED, Status.RETRYING)

    failed = media.fail(conn, item.id, item.task_id, "timeout", "late", from_states=allowed)

    assert (failed is not False) == (state in allowed)


def test_fail_keeps_the_message_bounded(conn):
    item = new_item(conn, Status.PROCESSING)

    media.fail(conn, item.id, item.task_id, "internal_error", "x" * 10_000)

    assert len(media.get_media(conn, item.id).error_message) == 2000


@pytest.mark.parametrize("state", ALL)
def test_mark_retrying_only_from_processing(conn, state):
    item = new_item(conn, state)

    assert media.mark_retrying(conn, item.id, uuid4(), "storage_unavailable", "down") is False
    moved = media.mark_retrying(conn, item.id, item.task_id, "storage_unavailable", "S3 down")

    assert moved == (state == Status.PROCESSING)
    row = media.get_media(conn, item.id)
    if moved:
        assert (row.processing_status, row.error_code) == (Status.RETRYING, "storage_unavailable")
    else:
        assert row.processing_status == state


@pytest.mark.parametrize("state", ALL)
def test_cancel_stops_waiting_and_running_items_only(conn, state):
    item = new_item(conn, state)
    cancellable = (*CLAIMABLE_STATES, Status.PROCESSING)  # what the API's cancel asks for

    cancelled = lifecycle.cancel_task(conn, item.task_id, cancellable)

    if state in cancellable:
        assert (cancelled.media_id, cancelled.previous_status) == (item.id, state)
        assert status_of(conn, item) == Status.CANCELLED
    else:
        assert cancelled is None and status_of(conn, item) == state


def test_cancel_of_an_unknown_or_superseded_task_changes_nothing(conn):
    item = new_item(conn, Status.QUEUED)

    assert lifecycle.cancel_task(conn, uuid4(), tuple(Status)) is None
    assert status_of(conn, item) == Status.QUEUED


@pytest.mark.parametrize("state", ALL)
def test_retry_failed_requeues_failed_items_only_under_a_new_task(conn, state):
    voyage = f"retry-{state}"
    item = new_item(conn, state, voyage=voyage, error_code="storage_unavailable", attempts=3, retries=8)

    entries = lifecycle.retry_failed(conn, lifecycle.RetryFilter(voyage_slug=voyage))

    row = media.get_media(conn, item.id)
    if state == Status.FAILED:
        [entry] = entries
        assert entry.media_id == item.id and entry.task_id == row.task_id != item.task_id
        assert (row.processing_status, row.attempts, row.retries, row.error_code) == (Status.PENDING, 0, 0, None)
        assert claim(conn, item) is None  # the old task's delivery now matches nothing
    else:
        assert entries == [] and row.processing_status == state and row.task_id == item.task_id


def test_retry_failed_leaves_permanent_errors_unless_asked(conn):
    voyage = "retry-permanent"
    corrupt = new_item(conn, Status.FAILED, voyage=voyage, error_code="corrupt_file")
    transient = new_item(conn, Status.FAILED, voyage=voyage, error_code="storage_unavailable")

    first = lifecycle.retry_failed(conn, lifecycle.RetryFilter(voyage_slug=voyage))
    second = lifecycle.retry_failed(conn, lifecycle.RetryFilter(voyage_slug=voyage, include_permanent=True))

    assert [e.media_id for e in first] == [transient.id]
    assert [e.media_id for e in second] == [corrupt.id]
