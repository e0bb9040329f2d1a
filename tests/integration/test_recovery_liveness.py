"""Recovery at once instead of at the hard time limit, on real Postgres and Redis: runs held by dead
workers, messages a dead worker took, and messages a new broker lost (tests/faults proves it under
real faults)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from datetime import timedelta
from uuid import uuid4

import pytest

from sequoia_core import broker, liveness
from sequoia_core.db import media
from sequoia_media.recovery import (QUEUES, reclaim_from_lost_workers, recover, republish_lost_messages,
                                   republish_unseen_messages)
from tests.factories import png_bytes
from tests.integration.helpers import ingest_unpublished, set_row

LONG_AGO = "now() - interval '10 minutes'"
NEVER_STALE = timedelta(hours=2)


@pytest.fixture
def node() -> str:
    return f"thumbs-{secrets.token_hex(3)}@test"


def _hold(pool, entry, worker, pid, status="processing"):
    """Stage a run claimed long ago by `worker`'s pool process `pid`."""
    run = media.Run(entry.media_id, entry.task_id, uuid4())
    with pool.connection() as conn:
        assert media.claim_for_processing(conn, run, worker, pid, NEVER_STALE, 3) is not None
        conn.execute(f"UPDATE media SET processing_status = %s, started_at = {LONG_AGO}, updated_at = {LONG_AGO} "
                     "WHERE id = %s", (status, entry.media_id))


def _row(pool, entry):
    with pool.connection() as conn:
        return media.get_media(conn, entry.media_id)


def test_heartbeats_tell_live_pool_processes_from_dead_ones(api_state, node):
    client = api_state.redis
    liveness.publish(client, node, [101, 102], ttl=30)
    beat = liveness.read(client, [node, "nobody@test"])

    assert beat["nobody@test"] is None
    assert beat[node].holds(101, claimed_at=time.time() - 60, skew=10)
    assert not beat[node].holds(999, claimed_at=time.time() - 60, skew=10), "a pool process no longer listed"
    assert beat[node].holds(999, claimed_at=time.time(), skew=10), "a process started after the last beat"
    liveness.withdraw(client, node)
    assert liveness.read(client, [node])[node] is None


def test_runs_of_a_dead_worker_are_reclaimed_at_once_and_live_ones_kept(api_state, pool, settings, voyage, node):
    files = [(f"{name}.png", png_bytes()) for name in "abcde"]
    _, (gone, dead_child, alive, waiting, legacy) = ingest_unpublished(api_state, voyage, *files)
    liveness.publish(api_state.redis, node, [201, 202], ttl=30)
    _hold(pool, gone, "vanished@test", 7)
    _hold(pool, dead_child, node, 999)  # its pool process was killed; the main process beats on
    _hold(pool, alive, node, 201)
    _hold(pool, waiting, "vanished@test", 7, status="retrying")
    _hold(pool, legacy, "vanished@test", 7)
    set_row(pool, legacy.media_id, worker_pid=None)  # claimed by a worker from before heartbeats

    result = reclaim_from_lost_workers(pool, api_state.celery, api_state.redis, settings)

    assert result.reclaimed >= 3
    for name, entry in {"gone": gone, "dead child": dead_child, "waiting": waiting}.items():
        row = _row(pool, entry)
        assert row.task_id != entry.task_id, f"{name}: a fresh task id, the old one matches nothing"
    for entry in (alive, legacy):
        kept = _row(pool, entry)
        assert (kept.processing_status, kept.task_id) == ("processing", entry.task_id)


def test_a_dead_workers_run_out_of_attempts_fails_with_max_attempts(api_state, pool, settings, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    _hold(pool, entry, "vanished@test", 7)
    set_row(pool, entry.media_id, attempts=settings.max_attempts)
    with pool.connection() as conn:
        conn.execute(f"UPDATE media SET updated_at = {LONG_AGO} WHERE id = %s", (entry.media_id,))

    result = reclaim_from_lost_workers(pool, api_state.celery, api_state.redis, settings)

    row = _row(pool, entry)
    assert result.gave_up >= 1
    assert (row.processing_status, row.error_code) == ("failed", "max_attempts")


def test_a_message_taken_by_a_dead_consumer_and_never_claimed_is_republished(api_state, pool, settings, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()))
    set_row(pool, entry.media_id, processing_status="queued")
    with pool.connection() as conn:
        conn.execute(f"UPDATE media SET updated_at = {LONG_AGO} WHERE id = %s", (entry.media_id,))
    tag, client = f"test-{secrets.token_hex(4)}", api_state.redis
    message = {"body": "", "headers": {"id": str(entry.task_id)}, "properties": {}}
    client.hset(broker.UNACKED, tag, json.dumps([message, "", QUEUES[0]]))
    client.zadd(broker.UNACKED_INDEX, {tag: time.time() - 600})
    try:
        assert entry.task_id in broker.reserved_before(client, settings.worker_lost_after_seconds)
        reclaim_from_lost_workers(pool, api_state.celery, client, settings)
    finally:
        client.hdel(broker.UNACKED, tag)
        client.zrem(broker.UNACKED_INDEX, tag)

    assert _row(pool, entry).task_id != entry.task_id


def test_a_new_broker_gets_back_what_it_lost_and_nothing_else(api_state, pool, settings, voyage):
    files = [(f"{name}.png", png_bytes()) for name in "abc"]
    _, (lost, in_line, retrying) = ingest_unpublished(api_state, voyage, *files)
    for entry in (lost, in_line):
        set_row(pool, entry.media_id, processing_status="queued")
    _hold(pool, retrying, "thumbs@test", 1, status="retrying")
    client = api_state.redis  # `lost` was queued a moment ago: the restart came right after its publish
    marker = json.dumps({"body": "", "headers": {"id": str(in_line.task_id)}, "properties": {}})
    client.lpush(QUEUES[0], marker)
    try:
        result = republish_lost_messages(pool, api_state.celery, client, settings.max_attempts)
    finally:
        client.lrem(QUEUES[0], 0, marker)

    assert result.republished >= 2
    assert _row(pool, lost).task_id != lost.task_id
    assert _row(pool, retrying).task_id != retrying.task_id, "a worker drops held retries with its connection"
    assert _row(pool, in_line).task_id == in_line.task_id, "a message still on the broker is not sent twice"


def _published_long_ago(pool, entry, status):
    set_row(pool, entry.media_id, processing_status=status)
    with pool.connection() as conn:
        conn.execute("UPDATE task_outbox SET published_at = now() WHERE task_id = %s", (entry.task_id,))
        conn.execute(f"UPDATE media SET updated_at = {LONG_AGO} WHERE id = %s", (entry.media_id,))


def test_a_message_on_no_queue_and_in_no_workers_hands_is_republished_when_two_passes_miss_it(
        api_state, pool, settings, voyage):
    files = [(f"{name}.png", png_bytes()) for name in "abcdef"]
    _, entries = ingest_unpublished(api_state, voyage, *files)
    dropped, retry_dropped, in_line, counting_down, unpublished, fresh = entries
    for entry, status in ((dropped, "queued"), (retry_dropped, "retrying"), (in_line, "queued"),
                          (counting_down, "retrying")):
        _published_long_ago(pool, entry, status)
    set_row(pool, fresh.media_id, processing_status="queued")  # published a moment ago, maybe in flight
    with pool.connection() as conn:
        conn.execute("UPDATE task_outbox SET published_at = now() WHERE task_id = %s", (fresh.task_id,))
        # Its outbox row is not published: the relay's to send, not recovery's.
        conn.execute(f"UPDATE media SET processing_status = 'queued', updated_at = {LONG_AGO} WHERE id = %s",
                     (unpublished.media_id,))
    client, tag = api_state.redis, f"test-{secrets.token_hex(4)}"
    marker = json.dumps({"body": "", "headers": {"id": str(in_line.task_id)}, "properties": {}})
    held = {"body": "", "headers": {"id": str(counting_down.task_id)}, "properties": {}}
    client.lpush(QUEUES[0], marker)  # a requeued message: behind the head of the line, yet on the list
    client.hset(broker.UNACKED, tag, json.dumps([held, "", QUEUES[0]]))  # a retry held for its countdown
    client.zadd(broker.UNACKED_INDEX, {tag: time.time()})
    client.delete(broker.UNSEEN_KEY)
    try:
        republish_unseen_messages(pool, api_state.celery, client, settings)
        after_one_pass = {entry.media_id: _row(pool, entry).task_id for entry in entries}
        result = republish_unseen_messages(pool, api_state.celery, client, settings)
    finally:
        client.lrem(QUEUES[0], 0, marker)
        client.hdel(broker.UNACKED, tag)
        client.zrem(broker.UNACKED_INDEX, tag)

    assert after_one_pass == {entry.media_id: entry.task_id for entry in entries}, \
        "one pass only suspects: a message may be between a worker's BRPOP and its unacked entry"
    assert result.republished >= 2
    for entry in (dropped, retry_dropped):
        assert _row(pool, entry).task_id != entry.task_id, "a fresh task id, published to its lane"
    for entry in (in_line, counting_down, unpublished, fresh):
        assert _row(pool, entry).task_id == entry.task_id


def test_the_broker_epoch_changes_when_redis_forgets_and_liveness_waits_a_grace(api_state, pool, settings):
    client = api_state.redis
    client.delete(broker.EPOCH_KEY)
    assert broker.read_epoch(client).changed

    recover(pool, api_state.celery, client, settings)  # republishes, then records the new epoch

    epoch = broker.read_epoch(client)
    assert not epoch.changed and epoch.known_for < settings.worker_lost_after_seconds
    assert recover(pool, api_state.celery, client, settings).reclaimed == 0, "no verdict before the grace"


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_running_worker_beats_with_its_pool_processes(thumbnails_worker, api_state, settings):
    node = f"{thumbnails_worker.name}@{socket.gethostname()}"
    deadline = time.monotonic() + 30
    # A beat names the pool as it was up to WORKER_LIVENESS_SECONDS ago: a child recycled since (after
    # its WORKER_MAX_TASKS_PER_CHILD tasks, or terminated by a cancel) is gone until the next beat.
    while (beat := liveness.read(api_state.redis, [node])[node]) is None or not all(map(_exists, beat.pids)):
        assert time.monotonic() < deadline, f"no heartbeat naming live processes from {node}: {beat}"
        time.sleep(0.2)

    assert beat.pids, "the pool processes are named"
    assert {os.getpgid(pid) for pid in beat.pids} == {thumbnails_worker.process.pid}, "they are this worker's"
    ttl = api_state.redis.pttl(liveness.KEY_PREFIX + node) / 1000
    assert 0 < ttl <= settings.worker_lost_after_seconds
