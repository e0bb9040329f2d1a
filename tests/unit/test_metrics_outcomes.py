"""How a task delivery's end becomes an outcome label, an error code and timings (pure logic:
fake task objects stand in for Celery's, the counters are the real ones)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from billiard.exceptions import WorkerLostError
from celery import states
from celery.exceptions import Retry, TimeLimitExceeded
from prometheus_client import REGISTRY

from sequoia_core import metrics
from sequoia_core.db.metrics import ItemFacts
from sequoia_core.errors import PermanentError, TransientError
from sequoia_core.task_metrics import TaskMetricsSpec, TaskObserver, initialise, note_facts, resolve_outcome
from sequoia_core.task_timing import ENQUEUED_AT_HEADER

OUTCOMES = {"completed": metrics.SUCCEEDED, "failed": metrics.FAILED, "skipped": metrics.SKIPPED}
GENERATE = "thumbnails.generate"


def facts(status: str, code: str | None = None, kind: str = "image", e2e: float | None = None) -> ItemFacts:
    return ItemFacts(media_kind=kind, processing_status=status, error_code=code, end_to_end_seconds=e2e)


@pytest.mark.parametrize(("state", "retval", "item", "expected"), [
    (states.SUCCESS, "completed", facts("completed"), ("succeeded", None)),
    (states.SUCCESS, "failed", facts("failed", "corrupt_file"), ("failed", "corrupt_file")),
    (states.SUCCESS, "skipped", facts("completed"), ("skipped", None)),
    (states.SUCCESS, "skipped", facts("cancelled"), ("cancelled", None)),
    (states.RETRY, Retry(exc=TransientError("s3 down", code="storage_unavailable")), None,
     ("retried", "storage_unavailable")),
    (states.RETRY, Retry(), facts("retrying", "database_unavailable"), ("retried", "database_unavailable")),
    (states.FAILURE, ValueError("bug"), facts("failed", "internal_error"), ("failed", "internal_error")),
    (states.FAILURE, PermanentError("bad", code="encrypted_pdf"), None, ("failed", "encrypted_pdf")),
    (states.FAILURE, TimeLimitExceeded(30), None, ("failed", "timeout")),
    (states.FAILURE, WorkerLostError("killed"), None, ("failed", "render_crashed")),
    (states.FAILURE, KeyError("x"), None, ("failed", "internal_error")),
    (states.IGNORED, None, None, ("skipped", None)),
    (states.SUCCESS, 7, None, ("succeeded", None)),  # a task with no outcome contract (the relay)
])
def test_outcome_and_error_code(state, retval, item, expected):
    assert resolve_outcome(state, retval, item, OUTCOMES) == expected


class FakeRequest(dict):
    """The attributes of Celery's task request that the receivers read."""

    def __init__(self, queue: str | None, enqueued_at: float | None = None, eta: str | None = None) -> None:
        super().__init__({ENQUEUED_AT_HEADER: enqueued_at} if enqueued_at else {})
        self.delivery_info = {"routing_key": queue} if queue else {}
        self.eta = eta


def fake_task(name: str, queue: str | None = "thumbnails", enqueued_at: float | None = None):
    return SimpleNamespace(name=name, request=FakeRequest(queue, enqueued_at))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run(observer: TaskObserver, task, task_id: str, state: str, retval: object, args=("m-1",)) -> None:
    observer.on_prerun(task_id=task_id, task=task)
    observer.on_postrun(task_id=task_id, task=task, args=args, state=state, retval=retval)


def test_a_completed_item_counts_once_with_its_kind_and_timings():
    observer = TaskObserver(TaskMetricsSpec(lookups={GENERATE: lambda _id: facts("completed", kind="pdf", e2e=4.2)},
                                            outcomes=OUTCOMES))
    labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": "pdf"}
    before = (sample("sequoia_tasks_total", **labels, outcome="succeeded"),
              sample("sequoia_task_queue_wait_seconds_count", **labels),
              sample("sequoia_media_end_to_end_seconds_sum", media_kind="pdf"))

    run(observer, fake_task(GENERATE, enqueued_at=time.time() - 2), "t-1", states.SUCCESS, "completed")

    assert sample("sequoia_tasks_total", **labels, outcome="succeeded") == before[0] + 1
    assert sample("sequoia_task_queue_wait_seconds_count", **labels) == before[1] + 1
    assert sample("sequoia_task_runtime_seconds_count", **labels) >= 1
    assert sample("sequoia_media_end_to_end_seconds_sum", media_kind="pdf") == pytest.approx(before[2] + 4.2)


def test_a_failure_counts_its_error_code():
    observer = TaskObserver(TaskMetricsSpec(lookups={GENERATE: lambda _id: facts("failed", "corrupt_file", "video")},
                                            outcomes=OUTCOMES))
    labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": "video", "outcome": "failed"}
    before = sample("sequoia_task_errors_total", **labels, error_code="corrupt_file")

    run(observer, fake_task(GENERATE), "t-2", states.SUCCESS, "failed")

    assert sample("sequoia_task_errors_total", **labels, error_code="corrupt_file") == before + 1


def test_facts_the_task_noted_are_used_without_a_lookup():
    def no_lookup(_media_id: str) -> ItemFacts:
        raise AssertionError("the noted facts make a read unneeded")

    observer = TaskObserver(TaskMetricsSpec(lookups={GENERATE: no_lookup}, outcomes=OUTCOMES))
    labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": "audio", "outcome": "failed"}
    before = sample("sequoia_task_errors_total", **labels, error_code="corrupt_file")
    task = fake_task(GENERATE)
    note_facts(task.request, facts("failed", "corrupt_file", "audio"))

    run(observer, task, "t-7", states.SUCCESS, "failed")

    assert sample("sequoia_task_errors_total", **labels, error_code="corrupt_file") == before + 1


def test_an_unreadable_item_still_counts_as_unknown_kind():
    def broken_lookup(_media_id: str) -> ItemFacts:
        raise TransientError("db down", code="database_unavailable")

    observer = TaskObserver(TaskMetricsSpec(lookups={GENERATE: broken_lookup}, outcomes=OUTCOMES))
    labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": "unknown", "outcome": "succeeded"}
    before = sample("sequoia_tasks_total", **labels)

    run(observer, fake_task(GENERATE), "t-3", states.SUCCESS, "completed")

    assert sample("sequoia_tasks_total", **labels) == before + 1


def test_a_task_without_media_counts_under_none_and_its_own_queue():
    observer = TaskObserver(TaskMetricsSpec())
    labels = {"queue": "media", "task": "media.relay_outbox", "media_kind": "none", "outcome": "succeeded"}
    before = sample("sequoia_tasks_total", **labels)

    run(observer, fake_task("media.relay_outbox", queue=None), "t-4", states.SUCCESS, 3, args=())

    assert sample("sequoia_tasks_total", **labels) == before + 1


def test_a_failure_inside_a_delivery_is_not_counted_twice():
    observer = TaskObserver(TaskMetricsSpec())
    task = fake_task("media.sweep_stuck", queue="media")
    labels = {"queue": "media", "task": "media.sweep_stuck", "media_kind": "none", "outcome": "failed"}
    before = sample("sequoia_tasks_total", **labels)

    observer.on_prerun(task_id="t-5", task=task)
    observer.on_failure(task_id="t-5", exception=ValueError("x"), sender=task)  # inside: postrun counts it
    observer.on_postrun(task_id="t-5", task=task, args=(), state=states.FAILURE, retval=ValueError("x"))

    assert sample("sequoia_tasks_total", **labels) == before + 1


def test_a_hard_time_limit_seen_by_the_main_process_counts_as_a_timeout():
    observer = TaskObserver(TaskMetricsSpec(lookups={GENERATE: lambda _id: None}, outcomes=OUTCOMES))
    labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": "unknown", "outcome": "failed"}
    before = sample("sequoia_task_errors_total", **labels, error_code="timeout")

    observer.on_failure(task_id="t-6", exception=TimeLimitExceeded(1800), sender=fake_task(GENERATE))

    assert sample("sequoia_task_errors_total", **labels, error_code="timeout") == before + 1


def test_a_revoked_message_is_cancelled_and_an_expired_one_skipped():
    observer = TaskObserver(TaskMetricsSpec())
    request = SimpleNamespace(task_name="media.relay_outbox", delivery_info={"routing_key": "media"})
    labels = {"queue": "media", "task": "media.relay_outbox", "media_kind": "none"}
    before = (sample("sequoia_tasks_total", **labels, outcome="cancelled"),
              sample("sequoia_tasks_total", **labels, outcome="skipped"))

    observer.on_revoked(request=request, terminated=False, expired=False)
    observer.on_revoked(request=request, terminated=False, expired=True)

    assert sample("sequoia_tasks_total", **labels, outcome="cancelled") == before[0] + 1
    assert sample("sequoia_tasks_total", **labels, outcome="skipped") == before[1] + 1


def test_known_series_start_at_zero_for_the_queues_the_worker_consumes():
    initialise(["thumbnails"], [GENERATE, "media.relay_outbox"], TaskMetricsSpec(lookups={GENERATE: lambda _: None}))

    for kind in ("image", "pdf", "video", "audio"):
        for outcome in metrics.OUTCOMES:
            labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": kind, "outcome": outcome}
            assert REGISTRY.get_sample_value("sequoia_tasks_total", labels) is not None
        assert REGISTRY.get_sample_value("sequoia_media_end_to_end_seconds_count", {"media_kind": kind}) is not None
    relay = {"queue": "thumbnails", "task": "media.relay_outbox", "media_kind": "none", "outcome": "succeeded"}
    assert REGISTRY.get_sample_value("sequoia_tasks_total", relay) is None  # not this worker's queue


def test_a_media_task_starts_its_unknown_kind_at_zero_too():
    initialise(["thumbnails"], [GENERATE], TaskMetricsSpec(lookups={GENERATE: lambda _: None}))

    labels = {"queue": "thumbnails", "task": GENERATE, "media_kind": "unknown", "outcome": "failed"}
    assert REGISTRY.get_sample_value("sequoia_tasks_total", labels) is not None
    assert REGISTRY.get_sample_value("sequoia_media_end_to_end_seconds_count", {"media_kind": "unknown"}) is None
