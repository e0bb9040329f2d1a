"""Webhook events in Postgres: written by the transaction that reaches a final state (every path to
it), one delivery per endpoint that wants it, leased without locks held, each attempt logged, retried
on the schedule, replayed, and pruned when finished and past the retention."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from sequoia_core import webhooks
from sequoia_core.db import batches, deletions, media, transitions
from sequoia_core.db import webhooks as webhook_db
from sequoia_core.db.media import Run
from sequoia_core.lifecycle import Status
from sequoia_core.db.webhooks import Attempt
from sequoia_core.webhooks import EventType
from tests.db.factories import new_batch, new_item

ALL_TYPES = [t.value for t in EventType]
LEASE = timedelta(seconds=30)
OK = Attempt(True, 204, 12, None)
DOWN = Attempt(False, 500, 30, "HTTP 500")


def endpoint(conn, voyage=None, types=ALL_TYPES):
    return webhook_db.insert_endpoint(conn, uuid4(), "http://127.0.0.1:9/hook", voyage, types, "",
                                      webhooks.new_secret())


def events(conn, voyage):
    return conn.execute("SELECT event_type, payload FROM webhook_events WHERE voyage_slug = %s ORDER BY created_at",
                        (voyage,)).fetchall()


def deliveries(conn, endpoint_id):
    return conn.execute("SELECT id, status, attempts FROM webhook_deliveries WHERE endpoint_id = %s",
                        (endpoint_id,)).fetchall()


def complete(conn, item):
    return media.complete(conn, Run(item.id, item.task_id, item.run_token), [{"name": "thumbnail"}], {})


def test_a_completion_writes_its_event_in_the_same_transaction(conn):
    hook = endpoint(conn, "wh-done")
    item = new_item(conn, Status.PROCESSING, voyage="wh-done")

    complete(conn, item)

    [(kind, payload)] = events(conn, "wh-done")
    assert kind == "media.completed" and payload["type"] == "media.completed"
    assert payload["data"]["media_id"] == str(item.id) and payload["data"]["status"] == "completed"
    assert payload["data"]["derivatives"] == [{"name": "thumbnail"}]
    assert [(status, attempts) for _, status, attempts in deliveries(conn, hook.id)] == [("pending", 0)]


def test_every_path_to_failed_emits_media_failed(conn):
    endpoint(conn, "wh-fail")
    by_worker = new_item(conn, Status.PROCESSING, voyage="wh-fail")
    by_sweeper = new_item(conn, Status.PROCESSING, voyage="wh-fail", attempts=3, age=timedelta(hours=2))

    media.fail(conn, Run(by_worker.id, by_worker.task_id, by_worker.run_token), "timeout", "slow")
    transitions.give_up_stuck(conn, timedelta(hours=1), max_attempts=3)

    failed = {p["data"]["media_id"]: p["data"]["error_code"] for kind, p in events(conn, "wh-fail")
              if kind == "media.failed"}
    assert failed == {str(by_worker.id): "timeout", str(by_sweeper.id): "max_attempts"}


def test_a_finished_batch_emits_batch_completed_with_its_counts(conn):
    endpoint(conn, "wh-batch")
    batch_id = new_batch(conn, 2, voyage="wh-batch")
    new_item(conn, Status.FAILED, voyage="wh-batch", batch_id=batch_id)
    item = new_item(conn, Status.PROCESSING, voyage="wh-batch", batch_id=batch_id)

    complete(conn, item)
    batches.finalize_if_done(conn, batch_id)

    [payload] = [p for kind, p in events(conn, "wh-batch") if kind == "batch.completed"]
    assert payload["data"] | {"completed_at": None} == {
        "batch_id": str(batch_id), "voyage_slug": "wh-batch", "batch_status": "completed_with_errors",
        "total_items": 2, "completed": 1, "failed": 1, "cancelled": 0, "completed_at": None}


def test_only_endpoints_of_the_voyage_or_global_ones_wanting_the_type_get_a_delivery(conn):
    mine, everyone = endpoint(conn, "wh-mine"), endpoint(conn, None)
    other, failures_only = endpoint(conn, "wh-other"), endpoint(conn, "wh-mine", ["media.failed"])

    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-mine"))

    assert len(deliveries(conn, mine.id)) == len(deliveries(conn, everyone.id)) == 1
    assert deliveries(conn, other.id) == deliveries(conn, failures_only.id) == []


def test_no_endpoint_no_event(conn):
    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-nobody"))

    assert events(conn, "wh-nobody") == []


def test_cancelled_and_repeated_states_emit_nothing(conn):
    endpoint(conn, "wh-quiet")
    item = new_item(conn, Status.QUEUED, voyage="wh-quiet")
    transitions.cancel_task(conn, item.task_id, (Status.QUEUED,))
    conn.execute("UPDATE media SET processing_status = 'cancelled' WHERE id = %s", (item.id,))

    assert events(conn, "wh-quiet") == []


def test_a_leased_delivery_is_not_due_again_until_recorded_then_follows_the_schedule(conn):
    hook = endpoint(conn, "wh-lease")
    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-lease"))
    [due] = [d for d in webhook_db.lease_due(conn, 100, LEASE) if d.endpoint_id == hook.id]

    assert due.secret.startswith("whsec_") and due.payload["type"] == "media.completed"
    assert [d for d in webhook_db.lease_due(conn, 100, LEASE) if d.endpoint_id == hook.id] == []

    webhook_db.record_attempt(conn, due.id, DOWN, webhooks.retry_delay(1))

    row = conn.execute("SELECT status, attempts, next_attempt_at - now() FROM webhook_deliveries WHERE id = %s",
                       (due.id,)).fetchone()
    assert row == ("pending", 1, timedelta(seconds=5))
    logged = conn.execute("SELECT outcome, status_code, error FROM webhook_attempts WHERE delivery_id = %s",
                          (due.id,)).fetchall()
    assert logged == [("failed", 500, "HTTP 500")]


def test_the_sender_sees_a_delivery_due_until_it_is_leased(conn):
    hook = endpoint(conn, "wh-any-due")
    assert not webhook_db.any_due(conn)  # the tick leaves without taking the sender's lock

    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-any-due"))
    assert webhook_db.any_due(conn)

    assert [d.endpoint_id for d in webhook_db.lease_due(conn, 100, LEASE)] == [hook.id]
    assert not webhook_db.any_due(conn)


def test_delivered_failed_and_replayed(conn):
    hook = endpoint(conn, "wh-replay")
    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-replay"))
    [(delivery_id, _, _)] = deliveries(conn, hook.id)
    event_id = conn.execute("SELECT event_id FROM webhook_deliveries WHERE id = %s", (delivery_id,)).fetchone()[0]

    webhook_db.record_attempt(conn, delivery_id, OK, None)
    assert deliveries(conn, hook.id) == [(delivery_id, "delivered", 1)]
    assert webhook_db.replay_event(conn, event_id) == 1
    assert deliveries(conn, hook.id) == [(delivery_id, "pending", 0)]
    webhook_db.record_attempt(conn, delivery_id, DOWN, None)  # out of schedule
    assert deliveries(conn, hook.id) == [(delivery_id, "failed", 1)]
    assert webhook_db.replay_event(conn, uuid4()) is None


def test_the_schedule_spans_more_than_a_day_then_gives_up():
    total = sum((webhooks.retry_delay(n) for n in range(1, webhooks.MAX_ATTEMPTS)), timedelta())

    assert total > timedelta(hours=24)
    assert webhooks.retry_delay(webhooks.MAX_ATTEMPTS) is None


def test_pruning_takes_finished_old_events_with_their_log_and_spares_pending_ones(conn):
    hook = endpoint(conn, "wh-prune")
    for _ in range(2):
        complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-prune"))
    [(done, _, _), (pending, _, _)] = sorted(deliveries(conn, hook.id))
    webhook_db.record_attempt(conn, done, OK, None)
    conn.execute("UPDATE webhook_events SET created_at = now() - interval '8 days' WHERE voyage_slug = 'wh-prune'")

    while webhook_db.prune_finished_batch(conn, timedelta(days=7), 1000):
        pass

    assert [d[0] for d in deliveries(conn, hook.id)] == [pending]
    assert conn.execute("SELECT count(*) FROM webhook_attempts WHERE delivery_id = %s", (done,)).fetchone()[0] == 0


def test_deleting_an_endpoint_removes_its_deliveries(conn):
    hook = endpoint(conn, "wh-delete")
    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-delete"))

    assert webhook_db.delete_endpoint(conn, hook.id) is True
    assert deliveries(conn, hook.id) == []
    assert webhook_db.delete_endpoint(conn, hook.id) is False


def test_an_attempt_whose_endpoint_was_deleted_meanwhile_records_nothing(conn):
    hook = endpoint(conn, "wh-gone")
    complete(conn, new_item(conn, Status.PROCESSING, voyage="wh-gone"))
    [due] = [d for d in webhook_db.lease_due(conn, 100, LEASE) if d.endpoint_id == hook.id]
    webhook_db.delete_endpoint(conn, hook.id)

    webhook_db.record_attempt(conn, due.id, OK, None)

    assert conn.execute("SELECT count(*) FROM webhook_attempts WHERE delivery_id = %s", (due.id,)).fetchone()[0] == 0


def deleted(conn):
    return [payload for kind, payload in events(conn, "wh-del") if kind == "media.deleted"]


def test_a_finished_deletion_emits_media_deleted_once_to_endpoints_that_ask(conn):
    asking = endpoint(conn, "wh-del", types=["media.deleted"])
    outcome_only = endpoint(conn, "wh-del", types=["media.completed", "media.failed", "batch.completed"])
    item = new_item(conn, Status.COMPLETED, voyage="wh-del")
    deletions.remove_item(conn, item.id)

    deletions.mark_later(conn, item.id, timedelta(seconds=5), removed=1)
    assert deleted(conn) == []  # not while S3 may still hold something
    deletions.mark_done(conn, item.id, removed=2)
    deletions.mark_done(conn, item.id, removed=0)  # a repeated pass: no second event

    [payload] = deleted(conn)
    assert payload["data"]["media_id"] == str(item.id) and payload["data"]["removed_objects"] == 3
    assert [status for _, status, _ in deliveries(conn, asking.id)] == ["pending"]
    assert len(deliveries(conn, outcome_only.id)) == 1  # its media.completed only
