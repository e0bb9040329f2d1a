"""Celery tasks of the `thumbnails` queue. Ids in, one call out; only transient errors retry."""

from __future__ import annotations

import logging
from uuid import UUID

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from sequoia_core import tasks as task_names
from sequoia_core.errors import ErrorCode, PermanentError, TransientError
from sequoia_thumbnails import derivatives
from sequoia_thumbnails.context import worker_context
from sequoia_thumbnails.derivatives import Job, Outcome

log = logging.getLogger(__name__)


@shared_task(
    name=task_names.GENERATE_DERIVATIVES,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientError,),
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=None,  # bounded below by settings.task_max_retries
)
def generate(self: Task, media_id: str) -> str:
    """Render and store every derivative of one media item."""
    ctx = worker_context()
    job = Job(media_id=UUID(media_id), task_id=UUID(self.request.id), worker=self.request.hostname or "unknown")
    row = derivatives.claim(ctx, job)
    if row is None:
        log.info("task %s for media %s has nothing to do (finished, cancelled or superseded)", job.task_id, media_id)
        return Outcome.SKIPPED
    try:
        stored, metadata = derivatives.render_and_store(ctx, row)
    except PermanentError as err:
        log.warning("media %s failed: %s (%s)", media_id, err.code, err.message)
        derivatives.record_failed(ctx, job, err.code, err.message)
        return Outcome.FAILED
    except SoftTimeLimitExceeded:
        derivatives.record_failed(ctx, job, ErrorCode.TIMEOUT, "rendering exceeded the task time limit")
        return Outcome.FAILED
    except TransientError as err:
        if self.request.retries >= ctx.settings.task_max_retries:
            derivatives.record_failed(ctx, job, err.code, f"gave up after {self.request.retries} retries: {err}")
            return Outcome.FAILED
        derivatives.record_retrying(ctx, job, err.code, err.message)
        raise
    except Exception as err:
        # A bug or an unforeseen decoder error: the item fails visibly, the worker lives on.
        log.exception("media %s: unexpected error while rendering", media_id)
        derivatives.record_failed(ctx, job, ErrorCode.INTERNAL, f"{type(err).__name__}: {err}")
        raise
    derivatives.record_completed(ctx, job, stored, metadata)
    return Outcome.COMPLETED
