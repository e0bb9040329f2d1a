"""Priority lanes in Postgres: an item keeps its lane through every requeue, a bulk retry moves it to
backfill, and each outbox row names the lane its task goes to."""

from __future__ import annotations

from datetime import timedelta

from sequoia_core.db import transitions
from sequoia_core.db.transitions import RetryFilter
from sequoia_core.lifecycle import Status
from sequoia_core.queues import Priority, QueueName
from tests.db.factories import new_item

LONG_AGO = timedelta(hours=2)


def test_a_bulk_retry_moves_live_items_to_the_backfill_lane(conn):
    item = new_item(conn, Status.FAILED, voyage="prio-retry", error_code="timeout")

    [entry] = transitions.retry_failed(conn, RetryFilter(voyage_slug="prio-retry"))

    row = conn.execute("SELECT priority, queue FROM media WHERE id = %s", (item.id,)).fetchone()
    assert row == (Priority.BACKFILL, QueueName.THUMBNAILS_BACKFILL)
    assert (entry.priority, entry.queue) == (Priority.BACKFILL, QueueName.THUMBNAILS_BACKFILL)


def test_the_sweeper_requeues_each_item_to_the_lane_it_came_from(conn):
    live = new_item(conn, Status.PROCESSING, age=LONG_AGO)
    backfill = new_item(conn, Status.PROCESSING, age=LONG_AGO, priority=Priority.BACKFILL)

    entries = transitions.requeue_stuck(conn, timedelta(hours=1), max_attempts=3)

    lanes = {e.media_id: (e.priority, e.queue) for e in entries}
    assert lanes[live.id] == (Priority.LIVE, QueueName.THUMBNAILS)
    assert lanes[backfill.id] == (Priority.BACKFILL, QueueName.THUMBNAILS_BACKFILL)


def test_recovery_finds_waiting_items_on_every_lane(conn):
    live = new_item(conn, Status.QUEUED, age=LONG_AGO)
    backfill = new_item(conn, Status.QUEUED, age=LONG_AGO, priority=Priority.BACKFILL)

    found = transitions.waiting_items(conn, (QueueName.THUMBNAILS, QueueName.THUMBNAILS_BACKFILL),
                                    (Status.QUEUED,), timedelta(minutes=1))

    assert {live.id, backfill.id} <= {item.id for item in found}


def test_recovery_reclaims_a_backfill_item_onto_the_backfill_lane(conn):
    item = new_item(conn, Status.PROCESSING, age=LONG_AGO, priority=Priority.BACKFILL)

    entries, _ = transitions.reclaim(conn, [item.id], (Status.PROCESSING,), timedelta(minutes=1), max_attempts=3)

    assert [(e.priority, e.queue) for e in entries] == [(Priority.BACKFILL, QueueName.THUMBNAILS_BACKFILL)]
