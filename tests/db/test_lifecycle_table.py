"""The lifecycle's transition table is what the SQL does: every operation, driven from every state,
moves items along exactly the edges `sequoia_core.lifecycle.TRANSITIONS` lists, and every operation
that ends an item finalises its batch."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from sequoia_core.db import batches, media, transitions
from sequoia_core.db.media import Run
from sequoia_core.lifecycle import CANCELLABLE_STATES, FINAL_STATES, HELD_STATES, ON_BROKER_STATES, \
    STUCK_STATES, TRANSITIONS, Status
from tests.db.factories import new_batch, new_item

MAX_ATTEMPTS = 3
LONG_AGO = timedelta(hours=1)


def _claim(conn, item, run, stale_after=timedelta(hours=1), dead_run=None):
    media.claim_for_processing(conn, run, "w@db", 1, stale_after, MAX_ATTEMPTS, dead_run)


def _own(item) -> Run:
    return Run(item.id, item.task_id, item.run_token)


# Each operation the services call, with the arguments they call it with.
OPERATIONS = {
    "mark_queued": lambda conn, item: media.mark_queued(conn, item.id, item.task_id),
    "claim_fresh": lambda conn, item: _claim(conn, item, Run(item.id, item.task_id, uuid4())),
    "claim_continue": lambda conn, item: _claim(conn, item, _own(item)),
    "claim_stale": lambda conn, item: _claim(conn, item, Run(item.id, item.task_id, uuid4()), timedelta(0)),
    "claim_dead_run": lambda conn, item: _claim(conn, item, Run(item.id, item.task_id, uuid4()),
                                                dead_run=item.run_token),
    "complete": lambda conn, item: media.complete(conn, _own(item), [], {}),
    "fail": lambda conn, item: media.fail(conn, _own(item), "corrupt_file", "bad"),
    "mark_retrying": lambda conn, item: media.mark_retrying(conn, _own(item), "storage_unavailable", "away"),
    "cancel": lambda conn, item: transitions.cancel_task(conn, item.task_id, CANCELLABLE_STATES),
    "retry_failed": lambda conn, item: transitions.retry_failed(
        conn, transitions.RetryFilter(voyage_slug=item.voyage_slug, include_permanent=True)),
    "requeue_stuck": lambda conn, item: transitions.requeue_stuck(conn, timedelta(minutes=30), MAX_ATTEMPTS),
    "give_up_stuck": lambda conn, item: transitions.give_up_stuck(conn, timedelta(minutes=30), item.attempts),
    "reclaim_held": lambda conn, item: transitions.reclaim(conn, [item.id], HELD_STATES, timedelta(0), MAX_ATTEMPTS),
    "reclaim_on_broker": lambda conn, item: transitions.reclaim(conn, [item.id], ON_BROKER_STATES, timedelta(0),
                                                              MAX_ATTEMPTS),
    "give_up_held": lambda conn, item: transitions.reclaim(conn, [item.id], HELD_STATES, timedelta(0), item.attempts),
}


def _run_everywhere(conn) -> set[tuple[Status, Status]]:
    moves = set()
    for state in Status:
        for operation in OPERATIONS.values():
            voyage = f"table-{uuid4().hex[:12]}"
            item = new_item(conn, state, age=LONG_AGO, voyage=voyage, batch_id=new_batch(conn, 1, voyage))
            operation(conn, item)
            row = media.get_media(conn, item.id)
            if (row.processing_status, row.run_token, row.task_id, row.retries) != (
                    item.processing_status, item.run_token, item.task_id, item.retries):
                moves.add((Status(item.processing_status), Status(row.processing_status)))
            if row.processing_status in FINAL_STATES and state not in FINAL_STATES:
                assert batches.get_batch(conn, item.batch_id).batch_status != "processing", (state, operation)
    return moves


def test_the_transition_table_is_what_the_sql_allows(conn):
    table = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}

    assert _run_everywhere(conn) == table


def test_the_groups_agree_with_the_table():
    assert {target for targets in TRANSITIONS.values() for target in targets} == set(Status)
    for state in FINAL_STATES:
        assert TRANSITIONS[state] <= {Status.PENDING}  # only a retry reopens a final item
    assert set(STUCK_STATES) <= set(CANCELLABLE_STATES)


@pytest.mark.parametrize("state", [Status.COMPLETED, Status.CANCELLED])
def test_a_final_item_without_failure_is_never_moved(conn, state):
    item = new_item(conn, state, age=LONG_AGO, attempts=0)
    for operation in OPERATIONS.values():
        operation(conn, item)
    row = media.get_media(conn, item.id)
    assert (row.processing_status, row.task_id, row.run_token) == (state, item.task_id, item.run_token)


def test_finalize_all_takes_each_batch_once_and_skips_none(conn):
    ids: list[UUID] = [new_batch(conn) for _ in range(3)]
    for batch_id in ids:
        new_item(conn, Status.COMPLETED, batch_id=batch_id)

    batches.finalize_all(conn, [ids[2], None, ids[0], ids[1], ids[0]])

    assert {batches.get_batch(conn, b).batch_status for b in ids} == {"completed"}
