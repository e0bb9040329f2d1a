"""The publish stamp on task messages: queue wait of a delivery and age of a waiting message."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from sequoia_core.task_timing import ENQUEUED_AT_HEADER, message_enqueued_at, queue_wait_seconds, stamp_enqueued_at


def test_publish_stamps_the_headers_with_the_current_time():
    headers: dict = {"id": "x"}
    before = time.time()  # the stamp's own clock: a datetime's timestamp() rounds to microseconds

    stamp_enqueued_at(headers=headers, body=None, exchange="", routing_key="thumbnails")

    assert before <= headers[ENQUEUED_AT_HEADER] <= time.time()


def test_a_retry_is_stamped_again():
    headers = {ENQUEUED_AT_HEADER: 1.0}

    stamp_enqueued_at(headers=headers)

    assert headers[ENQUEUED_AT_HEADER] > 1.0


def test_wait_runs_from_publish_to_start():
    assert queue_wait_seconds(100.0, None, 103.5) == pytest.approx(3.5)


def test_a_delivery_scheduled_later_waits_from_its_eta():
    eta = datetime.fromtimestamp(110.0, tz=UTC).isoformat()

    assert queue_wait_seconds(100.0, eta, 112.0) == pytest.approx(2.0)


def test_a_message_without_a_stamp_has_no_wait():
    assert queue_wait_seconds(None, None, 100.0) is None
    assert queue_wait_seconds("not a time", None, 100.0) is None


def test_clock_skew_never_gives_a_negative_wait():
    assert queue_wait_seconds(105.0, None, 100.0) == 0.0


def test_the_stamp_is_read_from_a_message_as_redis_stores_it():
    raw = json.dumps({"body": "e30=", "headers": {"task": "thumbnails.generate", ENQUEUED_AT_HEADER: 42.5},
                      "properties": {"delivery_tag": "t"}})

    assert message_enqueued_at(raw.encode()) == 42.5


@pytest.mark.parametrize("raw", [None, b"", b"not json", b"[]", json.dumps({"headers": {}}).encode(),
                                 json.dumps({"headers": "x"}).encode(),
                                 json.dumps({"headers": {ENQUEUED_AT_HEADER: True}}).encode()])
def test_a_message_without_a_usable_stamp_reads_as_none(raw):
    assert message_enqueued_at(raw) is None
