"""Nothing lost: each scenario ingests a batch of 100 mixed files, breaks one part of the system in
the middle of it, lets the system recover and audits the result (tests/faults/audit.py)."""

from __future__ import annotations

import signal
import socket
import time

import pytest
from psycopg.rows import class_row, dict_row

from sequoia_core import dispatch
from sequoia_core.celery_app import create_celery_app
from sequoia_core.db.outbox import OutboxEntry
from tests.faults import media
from tests.faults.audit import Outcome
from tests.faults.reaper import Reaper
from tests.faults.scenario import RECOVERY_BOUND, Run
from tests.support import services
from tests.support.proxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]


def assert_nothing_lost(outcome: Outcome, expected_states: dict[str, int], batch_status: str = "completed") -> None:
    """The scenario's verdict: what every scenario must show."""
    assert outcome.problems == []
    assert outcome.lost == 0
    assert outcome.duplicates == 0
    assert outcome.states == expected_states
    assert outcome.batch_status == batch_status
    assert outcome.resume_seconds <= RECOVERY_BOUND, "work must be done within 2 minutes of the part coming back"


def test_baseline_without_fault(stack, batch, record):
    """The yardstick of the "recover" column: the same batch, from the same point, with no fault."""
    run = Run.new(stack, "no fault (baseline)", batch).submit()
    run.wait_mid_batch()

    run.inject()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})
    assert outcome.max_attempts == 1 and outcome.max_retries == 0


def test_worker_sigkill_mid_task(stack, batch, record):
    run = Run.new(stack, "worker SIGKILL (whole pod)", batch).submit()
    run.wait_mid_batch()

    run.inject()
    # As an OOM kill of the pod: main process, pool and render children at once. Its messages stay
    # unacked in Redis until the visibility timeout; its heartbeat stops.
    stack.kill_worker(stack.thumbs)
    stack.start_thumbs()  # a new pod, under a new node name
    run.back()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})


@pytest.mark.faults_full
def test_worker_sigterm_warm_shutdown(stack, batch, record):
    run = Run.new(stack, "worker SIGTERM", batch).submit()
    run.wait_mid_batch()

    run.inject()
    leaving = stack.thumbs
    # What a rolling update does: SIGTERM to the old pod, a new one starts beside it.
    leaving.process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish, the rest go back
    stack.start_thumbs()
    run.back()

    outcome = run.finish()
    record(outcome)
    assert leaving.process.wait(60) == 0, "the warm shutdown must end on its own, cleanly"
    assert_nothing_lost(outcome, {"completed": len(batch)})
    assert outcome.max_attempts == 1, "a warm shutdown must not cost any item a second attempt"


@pytest.mark.faults_full
def test_redis_restart_while_items_run(stack, batch, record):
    run = Run.new(stack, "Redis restart, items running", batch).submit()
    run.wait_mid_batch()

    run.inject()
    stack.redis.kill()  # every queued and unacked message is gone, and every heartbeat
    stack.redis.start()
    run.back()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})


def test_redis_restart_while_items_wait(stack, batch, record):
    run = Run.new(stack, "Redis restart, items waiting", batch).submit()

    run.inject()  # at once: nearly the whole batch waits in the queue
    stack.redis.kill()
    stack.redis.start()
    run.back()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})


def test_worker_and_redis_lost_together(stack, batch, record):
    run = Run.new(stack, "worker and Redis lost", batch).submit()
    run.wait_mid_batch()

    run.inject()
    stack.kill_worker(stack.thumbs)
    stack.redis.kill()
    stack.redis.start()
    stack.start_thumbs()
    run.back()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})


@pytest.mark.faults_full
def test_postgres_restart(stack, batch, record):
    run = Run.new(stack, "Postgres restart", batch).submit()
    run.wait_mid_batch()

    run.inject()
    stack.postgres.stop("immediate")  # every connection drops, as in a crash
    time.sleep(15)  # longer than a pool checkout waits (10 s): claims and records fail and retry
    stack.postgres.start()
    run.back()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})
    # Both API pools (the sync one and the event loop's read pool) replaced their dropped connections.
    with stack.api.client() as client:
        voyage = client.get(f"/api/async/media-processing-status/{run.voyage}")
        item = client.get(f"/api/media/{next(iter(run.submitted))}")
        task = client.get(f"/api/async/async-tasks/{item.json()['task_id']}")
    assert voyage.status_code == 200 and voyage.json()["counts_by_state"] == {"completed": len(batch)}
    assert item.status_code == 200 and task.status_code == 200 and task.json()["state"] == "succeeded"


@pytest.mark.faults_full
def test_s3_down_for_30_seconds(stack, batch, record):
    run = Run.new(stack, "S3 down 30 s", batch).submit()
    run.wait_mid_batch()

    run.inject()
    stack.s3.down()
    time.sleep(30)
    stack.s3.up()
    run.back()

    outcome = run.finish()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})


@pytest.mark.faults_full
def test_api_killed_between_commit_and_publish(stack, batch, record):
    run = Run.new(stack, "API killed after commit", batch)
    broker = stack.redis.client()
    # Hold every write to Redis (reads pass, so the back-pressure check does): the API commits the
    # batch and then blocks in its first publish, where it is killed.
    broker.execute_command("CLIENT", "PAUSE", "60000", "WRITE")
    try:
        run.submit_in_background()
        committed = run.wait(lambda s: len(s.items) == len(batch), "the batch's commit", timeout=90)
        run.inject()
        stack.api.kill()
    finally:
        broker.execute_command("CLIENT", "UNPAUSE")
        broker.close()
    unpublished = sum(1 for item in committed.items if item["unpublished"])
    stack.api.start()
    run.back()

    outcome = run.finish()
    outcome.notes.append(f"{unpublished} of {len(batch)} tasks were committed but unpublished when the API died")
    record(outcome)
    assert unpublished == len(batch), "the API must die after the commit and before any publish"
    assert_nothing_lost(outcome, {"completed": len(batch)})


def test_same_message_delivered_twice(stack, batch, record):
    run = Run.new(stack, "duplicate delivery", batch).submit()
    celery = create_celery_app(stack.settings)
    entries = _outbox_entries(stack, run.voyage)

    run.inject()
    for entry in entries:  # a second copy of every message, while the first copies are being worked
        dispatch.send(celery, entry)
    outcome = run.finish()
    batch_done = _batch_completed_at(stack, run.voyage)
    for entry in entries:  # and a third, late copy after everything finished
        dispatch.send(celery, entry)
    _wait_queue_drained(stack)

    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})
    assert outcome.max_attempts == 1, "a duplicate delivery must not run an item again"
    assert _batch_completed_at(stack, run.voyage) == batch_done, "the batch must be finalised exactly once"


def test_poison_files(stack, batch, record):
    bomb, killer = media.gif_bomb(), media.slow_image()
    batch = batch[:-2]  # room for the two poison files within one request's MAX_UPLOAD_FILES
    run = Run.new(stack, "poison files", [*batch, bomb, killer]).submit()
    killer_id = _media_id(stack, run.voyage, killer.name)
    node = f"{stack.thumbs.name}@{socket.gethostname()}"
    reaper = Reaper(create_celery_app(stack.settings), node, stack.database_url, killer_id)

    run.inject()
    reaper.start()
    try:
        outcome = run.finish()
    finally:
        reaper.stop()
    items = {row["original_filename"]: row for row in _rows(stack, run.voyage)}
    outcome.notes.append(f"killer.png: worker process SIGKILLed {len(reaper.killed)} times, "
                         f"bomb.gif: {items[bomb.name]['error_code']}")

    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch), "failed": 2}, "completed_with_errors")
    assert items[bomb.name]["error_code"] == "render_crashed" and items[bomb.name]["attempts"] == 1
    assert items[killer.name]["error_code"] == "max_attempts"
    assert items[killer.name]["attempts"] == stack.settings.max_attempts == len(reaper.killed), reaper.errors
    assert stack.thumbs.alive(), "the worker's main process must survive its children's deaths"


def test_retry_not_published(stack, batch, record):
    """The thumbnails worker loses Postgres (its claims and records fail, transiently) and, for a
    moment, cannot open a connection to Redis, so the retries of those failures cannot be published,
    while the connections it holds carry on: its consumer still acks. As in CI, where the compose
    network could not resolve `redis` for a moment; before the fix those deliveries were acked and
    their items left `queued` or `processing` for the sweeper, 35 minutes later."""
    redis_link = TcpProxy("127.0.0.1", stack.redis.port)
    postgres_link = TcpProxy("127.0.0.1", stack.postgres.port)
    services.stop_worker(stack.thumbs)
    stack.start_thumbs(REDIS_URL=redis_link.url_for(stack.redis.url),
                       DATABASE_URL=postgres_link.url_for(stack.database_url))
    try:
        run = Run.new(stack, "retry not published", batch).submit()
        run.wait_mid_batch()

        run.inject()
        redis_link.refuse()  # new connections only: the retry's publish fails, the consumer carries on
        postgres_link.cut()  # the claims and records in flight fail, within a pool checkout's wait (10 s)
        time.sleep(15)
        postgres_link.heal()
        time.sleep(5)  # Redis still away when the last failures of the outage retry
        redis_link.heal()
        run.back()
        assert redis_link.refused, "no connection to Redis was attempted during the cut"

        outcome = run.finish()
    finally:
        services.stop_worker(stack.thumbs)
        stack.start_thumbs()  # the next scenarios' worker, straight to the servers
        redis_link.close()
        postgres_link.close()
    record(outcome)
    assert_nothing_lost(outcome, {"completed": len(batch)})


def _outbox_entries(stack, voyage: str) -> list[OutboxEntry]:
    with stack.connect() as conn, conn.cursor(row_factory=class_row(OutboxEntry)) as cur:
        return cur.execute("SELECT o.* FROM task_outbox o JOIN media m ON m.id = o.media_id "
                           "WHERE m.voyage_slug = %s", (voyage,)).fetchall()


def _rows(stack, voyage: str) -> list[dict]:
    with stack.connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT original_filename, processing_status, attempts, error_code FROM media "
                           "WHERE voyage_slug = %s", (voyage,)).fetchall()


def _media_id(stack, voyage: str, filename: str) -> str:
    with stack.connect() as conn:
        return str(conn.execute("SELECT id FROM media WHERE voyage_slug = %s AND original_filename = %s",
                                (voyage, filename)).fetchone()[0])


def _batch_completed_at(stack, voyage: str):
    with stack.connect() as conn:
        return conn.execute("SELECT completed_at FROM async_task_batches WHERE voyage_slug = %s",
                            (voyage,)).fetchone()[0]


def _wait_queue_drained(stack, timeout: float = 60.0) -> None:
    client = stack.redis.client()
    deadline = time.monotonic() + timeout
    while client.llen("thumbnails") or client.hlen("unacked"):
        assert time.monotonic() < deadline, "the duplicate messages were never consumed"
        time.sleep(0.2)
    client.close()
