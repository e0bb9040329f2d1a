"""The outbox: what the relay picks up, publishing recorded once, locked entries skipped, and a
publish that stops at the first broker failure recording only what went out."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

import psycopg
from redis.exceptions import ConnectionError as RedisConnectionError

from sequoia_core import dispatch
from sequoia_core.db import media, outbox
from sequoia_core.lifecycle import Status
from tests.db.factories import new_entry, new_item

GRACE = timedelta(seconds=15)


def test_the_relay_picks_only_unpublished_entries_older_than_its_grace(conn):
    old = new_entry(conn, new_item(conn), age=timedelta(minutes=1))
    new_entry(conn, new_item(conn), age=timedelta(seconds=1))  # the API is still publishing it
    new_entry(conn, new_item(conn, Status.QUEUED), age=timedelta(minutes=1), published=True)

    assert [e.id for e in outbox.claim_unpublished(conn, GRACE, 100)] == [old.id]


def test_the_relay_takes_the_oldest_first_up_to_its_limit(conn):
    entries = [new_entry(conn, new_item(conn), age=timedelta(minutes=m)) for m in (1, 3, 2)]

    assert [e.id for e in outbox.claim_unpublished(conn, GRACE, 2)] == [entries[1].id, entries[2].id]


def test_publishing_is_recorded_once(conn):
    entry = new_entry(conn, new_item(conn), age=timedelta(minutes=1))

    outbox.mark_published(conn, entry.id)
    first = conn.execute("SELECT published_at FROM task_outbox WHERE id = %s", (entry.id,)).fetchone()[0]
    outbox.mark_published(conn, entry.id)

    assert first is not None
    assert conn.execute("SELECT published_at FROM task_outbox WHERE id = %s", (entry.id,)).fetchone()[0] == first
    assert outbox.claim_unpublished(conn, GRACE, 100) == []


def test_an_entry_another_relay_holds_is_skipped(conn, database_url):
    # The other relay's rows must be committed for it to lock them; it cleans up after itself.
    with psycopg.connect(database_url) as other:
        entry = new_entry(other, new_item(other), age=timedelta(minutes=1))
        other.commit()
        try:
            assert [e.id for e in outbox.claim_unpublished(other, GRACE, 100)] == [entry.id]  # locks it
            assert entry.id not in [e.id for e in outbox.claim_unpublished(conn, GRACE, 100)]
        finally:
            other.rollback()
            other.execute("DELETE FROM media WHERE id = %s", (entry.media_id,))
            other.commit()


class _BrokerDownAfter:
    """A Celery app whose broker takes `accepted` messages, then is unreachable."""

    def __init__(self, accepted: int) -> None:
        self.accepted, self.sent = accepted, []
        self.pool = self

    def acquire(self, block: bool, timeout: float) -> nullcontext:
        return nullcontext()

    def send_task(self, name: str, args: list, task_id: str, queue: str, connection: object,
                  ignore_result: bool) -> None:
        if len(self.sent) == self.accepted:
            raise RedisConnectionError("broker down")
        self.sent.append(task_id)


def test_a_publish_records_what_went_out_and_leaves_the_rest_to_the_relay(conn):
    entries = [new_entry(conn, new_item(conn)) for _ in range(3)]
    celery = _BrokerDownAfter(accepted=2)

    assert dispatch.publish_claimed(conn, celery, entries) == 2

    assert celery.sent == [str(e.task_id) for e in entries[:2]]
    published = conn.execute("SELECT id FROM task_outbox WHERE published_at IS NOT NULL AND id = ANY(%s)",
                             ([e.id for e in entries],)).fetchall()
    assert sorted(row[0] for row in published) == sorted(e.id for e in entries[:2])
    states = [media.get_media(conn, e.media_id).processing_status for e in entries]
    assert states == [Status.QUEUED, Status.QUEUED, Status.PENDING]
