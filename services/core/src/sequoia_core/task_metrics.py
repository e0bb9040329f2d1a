"""Celery signal receivers that count how every task delivery ended and time it.

They run in the process that runs the task (a prefork child), plus the main process for what
happens outside a child: a revoked message, a hard time limit, a child lost for good.
Connected by `worker_metrics` at `worker_init`, so importing this module elsewhere does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from billiard.exceptions import WorkerLostError
from celery import Task, states
from celery.exceptions import Retry, TimeLimitExceeded
from celery.signals import task_failure, task_postrun, task_prerun, task_revoked

from sequoia_core import metrics
from sequoia_core.db.metrics import ItemFacts
from sequoia_core.errors import ErrorCode, SequoiaError
from sequoia_core.mediatypes import MediaKind
from sequoia_core.queues import lanes_of, queue_for
from sequoia_core.task_timing import ENQUEUED_AT_HEADER, queue_wait_seconds

log = logging.getLogger(__name__)

FactsLookup = Callable[[str], ItemFacts | None]
# Where a task leaves its item's facts on its request, read in the transaction that recorded how its
# run ended: the receivers then need no transaction of their own to read them.
FACTS_ATTRIBUTE = "sequoia_item_facts"


@dataclass(frozen=True)
class TaskMetricsSpec:
    """What a worker package tells the generic receivers about its tasks.

    `lookups`: for tasks whose first argument is a media id, how to read that item after the task.
    `outcomes`: what those tasks return, mapped to an outcome label (e.g. "completed" → succeeded).
    """

    lookups: Mapping[str, FactsLookup] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Running:
    started: float
    wait: float | None


def note_facts(request: Any, facts: ItemFacts | None) -> None:
    """Hand the receivers the facts of the item a delivery served, as the task last recorded them."""
    if facts is not None:
        setattr(request, FACTS_ATTRIBUTE, facts)


def _error_code(facts: ItemFacts | None, retval: object) -> str:
    if facts is not None and facts.error_code:
        return facts.error_code
    error = retval.exc if isinstance(retval, Retry) else retval
    if isinstance(error, SequoiaError):
        return str(error.code)
    if isinstance(error, TimeLimitExceeded):
        return ErrorCode.TIMEOUT.value
    if isinstance(error, WorkerLostError):
        return ErrorCode.RENDER_CRASHED.value
    return ErrorCode.INTERNAL.value


def resolve_outcome(state: str, retval: object, facts: ItemFacts | None,
                    outcomes: Mapping[str, str]) -> tuple[str, str | None]:
    """The outcome label of one delivery and, for failures and retries, its error code."""
    if state == states.RETRY:
        return metrics.RETRIED, _error_code(facts, retval)
    if state == states.FAILURE:
        return metrics.FAILED, _error_code(facts, retval)
    if state != states.SUCCESS:  # IGNORED or REJECTED: the task chose not to run
        return metrics.SKIPPED, None
    outcome = outcomes.get(str(retval), metrics.SUCCEEDED)
    if outcome == metrics.FAILED:
        return metrics.FAILED, _error_code(facts, retval)
    if outcome == metrics.SKIPPED and facts is not None and facts.processing_status == "cancelled":
        return metrics.CANCELLED, None
    return outcome, None


def _queue(task: Task) -> str:
    delivery = task.request.delivery_info or {}
    return delivery.get("routing_key") or queue_for(task.name).value


def record(queue: str, task: str, media_kind: str, outcome: str, error_code: str | None) -> None:
    """Count one delivery (and its error code, for failures and retries)."""
    metrics.TASKS.labels(queue, task, media_kind, outcome).inc()
    if error_code is not None:
        metrics.TASK_ERRORS.labels(queue, task, media_kind, outcome, error_code).inc()


def initialise(queues: Iterable[str], tasks: Iterable[str], spec: TaskMetricsSpec) -> None:
    """Create every known series at zero, so rates and ratios are exact from the first delivery."""
    for queue in queues:
        for task in tasks:
            if queue not in lanes_of(task):
                continue
            # `unknown` too: a delivery whose item could not be read still counts, from zero.
            kinds = [*MediaKind, metrics.UNKNOWN] if task in spec.lookups else [metrics.NO_MEDIA]
            for kind in kinds:
                for outcome in metrics.OUTCOMES:
                    metrics.TASKS.labels(queue, task, kind, outcome)
                metrics.TASK_RUNTIME.labels(queue, task, kind)
                metrics.QUEUE_WAIT.labels(queue, task, kind)
                if isinstance(kind, MediaKind):
                    metrics.END_TO_END.labels(kind)
                    for code in ErrorCode:  # the dashboard's failures by code, from zero
                        metrics.TASK_ERRORS.labels(queue, task, kind, metrics.FAILED, code.value)


class TaskObserver:
    """The receivers, with the start times of the deliveries running in this process."""

    def __init__(self, spec: TaskMetricsSpec) -> None:
        self._spec = spec
        self._running: dict[str, _Running] = {}

    def connect(self) -> None:
        """Connect every receiver (strongly: the observer lives as long as the worker)."""
        task_prerun.connect(self.on_prerun, weak=False, dispatch_uid="sequoia-metrics-prerun")
        task_postrun.connect(self.on_postrun, weak=False, dispatch_uid="sequoia-metrics-postrun")
        task_failure.connect(self.on_failure, weak=False, dispatch_uid="sequoia-metrics-failure")
        task_revoked.connect(self.on_revoked, weak=False, dispatch_uid="sequoia-metrics-revoked")

    def on_prerun(self, task_id: str, task: Task, **_: Any) -> None:
        """A delivery starts: note the time and how long it waited."""
        now = time.time()
        wait = queue_wait_seconds(task.request.get(ENQUEUED_AT_HEADER), task.request.eta, now)
        self._running[task_id] = _Running(started=time.perf_counter(), wait=wait)

    def on_postrun(self, task_id: str, task: Task, args: tuple | list | None = None,
                   state: str | None = None, retval: object = None, **_: Any) -> None:
        """A delivery ended in this process: count its outcome, observe its timings."""
        running = self._running.pop(task_id, None)
        facts = getattr(task.request, FACTS_ATTRIBUTE, None) or self._facts(task.name, args)
        kind = facts.media_kind if facts else self._kind_unread(task.name)
        queue = _queue(task)
        outcome, code = resolve_outcome(state or states.FAILURE, retval, facts, self._spec.outcomes)
        record(queue, task.name, kind, outcome, code)
        if running is not None:
            metrics.TASK_RUNTIME.labels(queue, task.name, kind).observe(time.perf_counter() - running.started)
            if running.wait is not None:
                metrics.QUEUE_WAIT.labels(queue, task.name, kind).observe(running.wait)
        if outcome == metrics.SUCCEEDED and facts is not None and facts.end_to_end_seconds is not None:
            metrics.END_TO_END.labels(facts.media_kind).observe(facts.end_to_end_seconds)

    def on_failure(self, task_id: str, exception: BaseException | None = None, sender: Task | None = None,
                   **_: Any) -> None:
        """Failures decided outside a running delivery (hard time limit, child lost for good).

        A failure inside a delivery is counted by `on_postrun` instead.
        """
        if task_id in self._running or sender is None:
            return
        kind = self._kind_unread(sender.name)
        record(queue_for(sender.name).value, sender.name, kind, metrics.FAILED, _error_code(None, exception))

    def on_revoked(self, request: Any = None, expired: bool = False, **_: Any) -> None:
        """A revoked message, dropped before it ran: cancelled, or skipped if it expired."""
        if request is None:
            return
        name = getattr(request, "task_name", None) or getattr(request, "name", "unknown")
        delivery = getattr(request, "delivery_info", None) or {}
        queue = delivery.get("routing_key") or queue_for(name).value
        record(queue, name, self._kind_unread(name), metrics.SKIPPED if expired else metrics.CANCELLED, None)

    def _kind_unread(self, task_name: str) -> str:
        """The media kind label when the item was not read: unknown for a media task, else none."""
        return metrics.UNKNOWN if task_name in self._spec.lookups else metrics.NO_MEDIA

    def _facts(self, task_name: str, args: tuple | list | None) -> ItemFacts | None:
        lookup = self._spec.lookups.get(task_name)
        if lookup is None or not args:
            return None
        try:
            return lookup(str(args[0]))
        except (SequoiaError, psycopg.Error, ValueError) as err:
            # The outcome still counts, under media_kind="unknown".
            log.warning("metrics: could not read media %s after task %s: %s", args[0], task_name, err)
            return None
