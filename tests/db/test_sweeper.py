"""The sweeper's choices: which stuck items get a fresh task, which it gives up on, which it leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sequoia_core.db import media, transitions
from sequoia_core.db.media import Run
from sequoia_core.lifecycle import STUCK_STATES, Status
from sequoia_core.errors import ErrorCode
from tests.db.factories import new_batch, new_entry, new_item

STUCK_AFTER = timedelta(minutes=30)
LONG_AGO = timedelta(hours=1)
MAX_ATTEMPTS = 3


def requeue(conn, **kwargs):
    return transitions.requeue_stuck(conn, STUCK_AFTER, MAX_ATTEMPTS, **kwargs)


@pytest.mark.parametrize("state", list(Status))
def test_only_stuck_queued_processing_and_retrying_items_are_requeued(conn, state):
    item = new_item(conn, state, age=LONG_AGO)

    entries = requeue(conn)

    row = media.get_media(conn, item.id)
    if state in STUCK_STATES:
        [entry] = entries
        assert (entry.media_id, entry.task_id) == (item.id, row.task_id) and row.task_id != item.task_id
        assert row.processing_status == Status.PENDING and row.attempts == item.attempts  # attempts are kept
    else:  # pending is the outbox relay's; final states are final
        assert entries == [] and row.processing_status == state


@pytest.mark.parametrize("state", STUCK_STATES)
def test_recent_items_are_left_alone(conn, state):
    new_item(conn, state, age=STUCK_AFTER - timedelta(minutes=1))

    assert requeue(conn) == []
    assert transitions.give_up_stuck(conn, STUCK_AFTER, MAX_ATTEMPTS) == []


@pytest.mark.parametrize("state", STUCK_STATES)
def test_stuck_items_out_of_attempts_fail_with_max_attempts(conn, state):
    batch_id = new_batch(conn)
    spent = new_item(conn, state, age=LONG_AGO, attempts=MAX_ATTEMPTS, batch_id=batch_id)

    assert requeue(conn) == []
    assert transitions.give_up_stuck(conn, STUCK_AFTER, MAX_ATTEMPTS) == [batch_id]
    row = media.get_media(conn, spent.id)
    assert (row.processing_status, row.error_code) == (Status.FAILED, ErrorCode.MAX_ATTEMPTS)
    assert row.error_message == f"gave up after {MAX_ATTEMPTS} attempts; the last one never finished"


def test_a_queued_item_still_in_line_is_not_published_again(conn):
    # Three items published a minute apart an hour ago; the second's message is next in line.
    items = [new_item(conn, Status.QUEUED, age=LONG_AGO - timedelta(minutes=m)) for m in range(3)]
    entries = [new_entry(conn, item, age=LONG_AGO - timedelta(minutes=m), published=True)
               for m, item in enumerate(items)]

    requeued = requeue(conn, next_in_line={str(items[0].queue): entries[1].task_id})

    assert [e.media_id for e in requeued] == [items[0].id]  # left the queue and never ran


def test_an_unknown_head_of_line_requeues_every_stuck_queued_item(conn):
    items = [new_item(conn, Status.QUEUED, age=LONG_AGO) for _ in range(2)]

    assert {e.media_id for e in requeue(conn, next_in_line={})} == {item.id for item in items}


def test_the_sweep_takes_the_oldest_first_up_to_its_limit(conn):
    old = new_item(conn, Status.PROCESSING, age=2 * LONG_AGO)
    new_item(conn, Status.PROCESSING, age=LONG_AGO)

    assert [e.media_id for e in requeue(conn, limit=1)] == [old.id]


def test_a_requeue_reopens_nothing_and_writes_one_outbox_row_per_item(conn):
    items = [new_item(conn, Status.RETRYING, age=LONG_AGO) for _ in range(3)]

    entries = requeue(conn)

    assert sorted(e.media_id for e in entries) == sorted(item.id for item in items)
    assert all(e.published_at is None for e in entries)
    assert conn.execute("SELECT count(*) FROM task_outbox").fetchone()[0] == 3


@pytest.mark.parametrize("state", [Status.PROCESSING, Status.RETRYING])
def test_a_requeued_items_old_run_is_refused_everything(conn, state):
    item = new_item(conn, state, age=LONG_AGO)
    old_run = Run(item.id, item.task_id, item.run_token)

    [entry] = requeue(conn)

    assert media.claim_for_processing(conn, old_run, "w@db", 1, timedelta(0), MAX_ATTEMPTS, item.run_token) is None
    assert media.complete(conn, old_run, [], {}) is False
    assert media.fail(conn, old_run, "internal_error", "late") is False
    assert media.mark_retrying(conn, old_run, "storage_unavailable", "late") is False
    assert media.lock_unfinished_run(conn, old_run) is False
    row = media.get_media(conn, item.id)
    assert (row.processing_status, row.task_id) == (Status.PENDING, entry.task_id)


def test_recovery_looks_for_the_messages_of_quiet_published_items_out_of_line(conn):
    # Three items published a minute apart an hour ago; the second's message heads the lane.
    ahead, head, behind = (new_item(conn, Status.QUEUED, age=LONG_AGO - timedelta(minutes=m)) for m in range(3))
    entries = [new_entry(conn, item, age=LONG_AGO - timedelta(minutes=m), published=True)
               for m, item in enumerate((ahead, head, behind))]
    retrying = new_item(conn, Status.RETRYING, age=LONG_AGO)
    new_entry(conn, retrying, age=LONG_AGO, published=True)
    unpublished = new_item(conn, Status.QUEUED, age=LONG_AGO)  # the relay's
    new_entry(conn, unpublished, age=LONG_AGO)
    recent = new_item(conn, Status.QUEUED)
    new_entry(conn, recent, published=True)
    running = new_item(conn, Status.PROCESSING, age=LONG_AGO)
    new_entry(conn, running, age=LONG_AGO, published=True)
    lane = str(ahead.queue)

    found = transitions.unseen_items(conn, (lane,), timedelta(seconds=30), {lane: entries[1].task_id})

    assert {item.id for item in found} == {ahead.id, retrying.id}
    assert {item.id for item in transitions.unseen_items(conn, (lane,), timedelta(seconds=30), {})} == \
        {ahead.id, head.id, behind.id, retrying.id}, "an empty lane: every quiet queued item is looked for"
