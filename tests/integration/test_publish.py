"""The publish of committed outbox entries (by the API, and by the relay): each task on its queue, its
item `queued` and its entry published, with the task-sent event; no subscription to a result, which
no task keeps."""

from __future__ import annotations

from sequoia_core import dispatch
from sequoia_core.db import media
from sequoia_core.lifecycle import Status
from tests.factories import png_bytes
from tests.integration.helpers import ingest_unpublished


def _calls(stats: dict, command: str) -> int:
    return stats.get(f"cmdstat_{command}", {}).get("calls", 0)


def test_a_publish_sends_each_task_and_subscribes_to_no_result(api_state, pool, voyage):
    _, entries = ingest_unpublished(api_state, voyage, ("a.png", png_bytes()), ("b.png", png_bytes(300, 200)))
    before = api_state.redis.info("commandstats")

    assert dispatch.publish_entries(pool, api_state.celery, entries) == 2

    after = api_state.redis.info("commandstats")
    assert _calls(after, "lpush") - _calls(before, "lpush") >= 2  # the tasks (the events are PUBLISHes)
    # Before: a SUBSCRIBE to each task's result channel, and an UNSUBSCRIBE once its AsyncResult went.
    assert (_calls(after, "subscribe"), _calls(after, "unsubscribe")) == (_calls(before, "subscribe"),
                                                                          _calls(before, "unsubscribe"))
    with pool.connection() as conn:  # queued, or further on if a worker of an earlier test took it already
        assert Status.PENDING not in [media.get_media(conn, e.media_id).processing_status for e in entries]
        published = conn.execute("SELECT count(*) FROM task_outbox WHERE published_at IS NOT NULL AND id = ANY(%s)",
                                 ([e.id for e in entries],)).fetchone()[0]
    assert published == 2
