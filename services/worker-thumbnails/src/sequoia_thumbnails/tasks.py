"""Celery tasks of the `thumbnails` queue. Ids in, one call out; only transient errors retry."""

from __future__ import annotations

import logging
import math
import os
import time
from itertools import count
from uuid import UUID, uuid4

from celery import Task, shared_task
from celery.exceptions import Reject, Retry, SoftTimeLimitExceeded

from sequoia_core import tasks as task_names
from sequoia_core.backoff import retry_countdown
from sequoia_core.db.media import MediaRow, Run
from sequoia_core.errors import ErrorCode, ObjectNotFound, PermanentError, TransientError
from sequoia_core.task_metrics import note_facts
from sequoia_thumbnails import derivatives
from sequoia_thumbnails.context import ThumbnailsContext, worker_context
from sequoia_thumbnails.derivatives import Job, Outcome

log = logging.getLogger(__name__)


@shared_task(
    name=task_names.GENERATE_DERIVATIVES,
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # A render's transient errors stop at settings.task_max_retries (the item then fails with their
    # code); Postgres being away while claiming or recording retries until it is back.
    max_retries=None,
)
def generate(self: Task, media_id: str, run: str | None = None) -> str:
    """Render and store every derivative of one media item.

    Each delivery claims the item under a run token of its own; a retry carries the token of the run
    it retries (`run`) and takes that run back, also when the failed delivery left the item
    `processing` (Postgres went away before it could record how its run ended, or after its claim
    committed but before the answer came back). A delivery that finds another run holding the item
    skips it: no item runs twice at once.
    """
    ctx = worker_context()
    token = UUID(run) if run else uuid4()
    job = Job(run=Run(UUID(media_id), UUID(self.request.id), token),
              worker=self.request.hostname or "unknown", pid=os.getpid())
    try:
        row = derivatives.claim(ctx, job)
    except TransientError as err:  # no run holds the item for this delivery: it may go back to its queue
        raise _retry(self, ctx, job, err, ctx.settings.task_retry_publish_patience_seconds) from err
    if row is None:
        log.info("task %s for media %s has nothing to do (finished, cancelled, superseded or held by "
                 "another run)", job.run.task_id, media_id)
        return Outcome.SKIPPED
    try:
        return _render(ctx, job, row, last_try=self.request.retries >= ctx.settings.task_max_retries)
    except TransientError as err:
        # The run holds the item under a token only its retry would carry (a redelivery of this
        # message skips an item another run holds): wait for the broker as long as the time limit lets.
        raise _retry(self, ctx, job, err, math.inf) from err
    finally:
        note_facts(self.request, job.facts[-1] if job.facts else None)


def _retry(task: Task, ctx: ThumbnailsContext, job: Job, err: TransientError, patience: float) -> Retry:
    """Publish the retry of this run (exponential backoff, equal jitter) and return the exception to raise.

    When the publish fails, Celery's `Task.retry` raises `Reject(requeue=False)`, which acks the
    delivery and leaves its item to the sweeper. Here a failed publish is tried again for `patience`
    seconds (Redis unreachable for a moment: a DNS hiccup, a failover), the retry still carrying the
    run's token; past that, or at the soft time limit, the delivery goes back to its queue
    (`Reject(requeue=True)`; if Redis does not take even that, the message stays in its `unacked`
    hash, where recovery and the visibility timeout find it)."""
    settings = ctx.settings
    countdown = retry_countdown(task.request.retries, settings.task_retry_backoff_seconds,
                                settings.task_retry_backoff_max_seconds)
    deadline = time.monotonic() + patience
    try:
        for attempt in count():
            try:
                return task.retry(exc=err, countdown=countdown, kwargs={"run": str(job.run.token)}, throw=False)
            except Reject as unpublished:
                failure = unpublished.reason
            wait = min(0.5 * 2 ** min(attempt, 5), deadline - time.monotonic())  # 0.5 s doubling to 16 s
            if wait <= 0:
                break
            log.warning("media %s: the retry of task %s could not be published (%s); trying again in %.1fs",
                        job.media_id, job.run.task_id, failure, wait)
            time.sleep(wait)
    except SoftTimeLimitExceeded as late:  # out of time while trying: hand the delivery back at once
        failure = late
    log.error("media %s: the retry of task %s could not be published (%s); its message goes back to the queue",
              job.media_id, job.run.task_id, failure)
    raise Reject(failure, requeue=True) from err


def _render(ctx: ThumbnailsContext, job: Job, row: MediaRow, last_try: bool) -> str:
    """Render the claimed item and record the outcome. A transient error is recorded and escapes to
    be retried, except on the last try, where it fails the item with its code."""
    media_id = job.media_id
    try:
        rendered = derivatives.render_and_store(ctx, row)
    except (PermanentError, ObjectNotFound) as err:
        log.warning("media %s failed: %s (%s)", media_id, err.code, err.message)
        derivatives.record_failed(ctx, job, err.code, err.message)
        return Outcome.FAILED
    except SoftTimeLimitExceeded:
        derivatives.record_failed(ctx, job, ErrorCode.TIMEOUT, "rendering exceeded the task time limit")
        return Outcome.FAILED
    except TransientError as err:
        if last_try:
            retries = ctx.settings.task_max_retries
            derivatives.record_failed(ctx, job, err.code, f"gave up after {retries} retries: {err}")
            return Outcome.FAILED
        derivatives.record_retrying(ctx, job, err.code, err.message)
        raise
    except Exception as err:
        # A bug or an unforeseen decoder error: the item fails visibly, the worker lives on.
        log.exception("media %s: unexpected error while rendering", media_id)
        derivatives.record_failed(ctx, job, ErrorCode.INTERNAL, f"{type(err).__name__}: {err}")
        raise
    derivatives.record_completed(ctx, job, rendered)
    return Outcome.COMPLETED
