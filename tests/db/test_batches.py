"""A batch gets its final status exactly once, when its last item is final, and the right one."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import psycopg
import pytest

from sequoia_core.db import batches, media, transitions
from sequoia_core.db.media import Run
from sequoia_core.lifecycle import BatchStatus, Status
from tests.db.factories import new_batch, new_item
from tests.support.services import fresh_database


def batch_of(conn, *states: Status):
    batch_id = new_batch(conn, len(states))
    return batch_id, [new_item(conn, state, batch_id=batch_id) for state in states]


@pytest.mark.parametrize("open_state", [Status.PENDING, Status.QUEUED, Status.PROCESSING, Status.RETRYING])
def test_no_final_status_while_an_item_is_open(conn, open_state):
    batch_id, _ = batch_of(conn, Status.COMPLETED, open_state)

    assert batches.finalize_if_done(conn, batch_id) is None
    assert batches.get_batch(conn, batch_id).batch_status == "processing"


@pytest.mark.parametrize(("states", "final"), [
    ((Status.COMPLETED, Status.COMPLETED), "completed"),
    ((Status.COMPLETED, Status.FAILED), "completed_with_errors"),
    ((Status.COMPLETED, Status.CANCELLED), "completed_with_errors"),
    ((Status.CANCELLED, Status.CANCELLED), "cancelled"),
    ((Status.FAILED, Status.FAILED), "completed_with_errors"),
])
def test_the_final_status_is_set_exactly_once(conn, states, final):
    batch_id, _ = batch_of(conn, *states)

    assert batches.finalize_if_done(conn, batch_id) == final
    assert batches.finalize_if_done(conn, batch_id) is None  # a second worker's call changes nothing
    row = batches.get_batch(conn, batch_id)
    assert row.batch_status == final and row.completed_at is not None


def test_the_last_item_to_finish_finalises_its_batch(conn):
    batch_id, [done, running] = batch_of(conn, Status.COMPLETED, Status.PROCESSING)

    assert media.complete(conn, Run(running.id, running.task_id, uuid4()), [], {}) is False  # another run's
    assert batches.get_batch(conn, batch_id).batch_status == "processing"
    assert media.complete(conn, Run(running.id, running.task_id, running.run_token), [], {}) == batch_id
    row = batches.get_batch(conn, batch_id)
    assert row.batch_status == "completed" and row.completed_at is not None
    assert batches.finalize_if_done(conn, batch_id) is None  # finalised exactly once, by the completion


def test_a_retry_reopens_a_finished_batch_until_its_items_are_final_again(conn):
    batch_id, [_, failed] = batch_of(conn, Status.COMPLETED, Status.FAILED)
    assert batches.finalize_if_done(conn, batch_id) == "completed_with_errors"

    transitions.retry_failed(conn, transitions.RetryFilter(voyage_slug=failed.voyage_slug))

    assert batches.get_batch(conn, batch_id).batch_status == "processing"
    assert batches.finalize_if_done(conn, batch_id) is None


def test_two_runs_ending_the_last_two_items_at_once_finalise_the_batch_once():
    """The first run's transaction holds the batch's lock: the second run's end waits for its commit and
    then counts both items final. Items of two kinds, so no counter row of the triggers orders the two
    transactions instead; committed rows, so in a database of their own."""
    with fresh_database() as url, psycopg.connect(url) as one, psycopg.connect(url) as two, \
            psycopg.connect(url, autocommit=True) as watch:
        batch_id = new_batch(one, 2)
        first, second = (new_item(one, Status.PROCESSING, batch_id=batch_id, media_kind=kind)
                         for kind in ("image", "pdf"))
        one.commit()
        assert media.complete(one, Run(first.id, first.task_id, first.run_token), [], {}) == batch_id
        with ThreadPoolExecutor(1) as executor:
            ending = executor.submit(media.complete, two, Run(second.id, second.task_id, second.run_token), [], {})
            deadline = time.monotonic() + 10
            while watch.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                                (two.info.backend_pid,)).fetchone()[0] != "Lock":
                assert time.monotonic() < deadline and not ending.done(), "the second run did not wait"
                time.sleep(0.01)
            assert batches.get_batch(one, batch_id).batch_status == BatchStatus.PROCESSING  # the other was open
            one.commit()
            assert ending.result(timeout=10) == batch_id
        two.commit()

        assert batches.get_batch(watch, batch_id).batch_status == BatchStatus.COMPLETED
