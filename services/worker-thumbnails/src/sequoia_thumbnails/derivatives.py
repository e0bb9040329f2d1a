"""Generating one media item's derivatives: claim, fetch, render, store, record."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from sequoia_core.db import media
from sequoia_core.db.media import MediaRow, Run
from sequoia_core.db.metrics import ItemFacts, item_facts
from sequoia_core.db.pool import autocommit, transaction
from sequoia_core.errors import ErrorCode, PermanentError, SequoiaError
from sequoia_core.lifecycle import Status
from sequoia_core.recipes import versions_for
from sequoia_core.storage import derivative_key
from sequoia_thumbnails import workdirs
from sequoia_thumbnails.context import ThumbnailsContext
from sequoia_thumbnails.renderers.base import Derivative

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How one delivery of a generate task ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"  # not this task's to run: finished, cancelled, superseded or running elsewhere


@dataclass(frozen=True)
class Job:
    """One delivery: its run (item, task id, run token) and the worker process that holds it; `facts`
    gets the item as each record of the run's end left it (for the metrics, read in that transaction)."""

    run: Run
    worker: str
    pid: int
    facts: list[ItemFacts] = field(default_factory=list, compare=False, repr=False)

    @property
    def media_id(self) -> UUID:
        """The item this delivery serves."""
        return self.run.media_id


def claim(ctx: ThumbnailsContext, job: Job) -> MediaRow | None:
    """Claim the item for this delivery's run, or None when a duplicate or late delivery finds
    nothing to do (or the item is held by another run)."""
    # A `processing` item is taken over by a redelivery only after the hard time limit (its first
    # worker is dead); the sweeper reclaims it much sooner when that worker's heartbeat stops.
    stale_after = timedelta(seconds=ctx.settings.task_time_limit_seconds)
    limit = ctx.settings.max_attempts
    # Each statement commits alone: the claim is one guarded update, and a dead sibling's run is
    # read, then taken under its token by a second guarded update; a transaction around them would
    # hold no lock between them (the first update matched no row) nor share a snapshot.
    with autocommit(ctx.pool) as conn:
        row = media.claim_for_processing(conn, job.run, job.worker, job.pid, stale_after, limit)
        dead_run = None if row is not None else _dead_sibling_run(conn, job)
        if dead_run is None:
            return row
        log.warning("media %s: the pool process that ran it died; a new run starts", job.media_id)
        return media.claim_for_processing(conn, job.run, job.worker, job.pid, stale_after, limit, dead_run)


def _dead_sibling_run(conn: psycopg.Connection, job: Job) -> UUID | None:
    """The run holding the item for this task, if a pool process of this very worker held it and is
    gone (killed by the kernel or a crash: its message came back with `reject_on_worker_lost`)."""
    row = media.get_media(conn, job.media_id)
    if row is None or row.task_id != job.run.task_id or row.processing_status != Status.PROCESSING:
        return None
    if row.worker != job.worker or row.worker_pid in (None, job.pid) or _pid_alive(row.worker_pid):
        return None
    return row.run_token


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid now belongs to someone else
        return False
    return True


@dataclass(frozen=True)
class Rendered:
    """What one run made: the stored derivatives, facts about the original, the placeholder, the
    recipe versions followed, and the keys of an earlier render that no recipe makes any more."""

    stored: list[dict[str, Any]]
    metadata: dict[str, Any]
    thumbhash: bytes | None
    recipe_versions: dict[str, str]
    superseded: list[str]


def render_and_store(ctx: ThumbnailsContext, row: MediaRow) -> Rendered:
    """Fetch the original, render it and upload each derivative under its deterministic key."""
    started = time.perf_counter()
    with workdirs.job_directory() as tmp:
        source = tmp / f"original.{row.media_format}"
        ctx.storage.download(row.original_key, source, max_bytes=ctx.settings.max_upload_bytes)
        fmt, result = ctx.engine.render(source, tmp / "out", filename_hint=row.original_filename)
        if fmt.kind != row.media_kind:
            raise PermanentError(f"stored as {row.media_kind} but the content is {fmt.kind}",
                                 code=ErrorCode.TYPE_MISMATCH)
        stored = [_store(ctx, row, derivative) for derivative in result.derivatives]
    metadata = {**result.metadata, "render_seconds": round(time.perf_counter() - started, 4)}
    keys = {derivative["key"] for derivative in stored}
    return Rendered(stored, metadata, result.thumbhash, versions_for(ctx.engine.spec.recipes, row.media_kind),
                    [old["key"] for old in row.derivatives if old.get("key") and old["key"] not in keys])


def _store(ctx: ThumbnailsContext, row: MediaRow, derivative: Derivative) -> dict[str, Any]:
    key = derivative_key(row.voyage_slug, row.id, derivative.name, derivative.extension)
    ctx.storage.put_file(key, derivative.path, derivative.content_type)
    return {
        "name": derivative.name,
        "key": key,
        "width": derivative.width,
        "height": derivative.height,
        "format": derivative.format,
        "content_type": derivative.content_type,
        "size_bytes": derivative.path.stat().st_size,
    }


def record_completed(ctx: ThumbnailsContext, job: Job, rendered: Rendered) -> bool:
    """Mark the item completed (its batch finalised if it was the last); False if no longer ours.

    A run refused here (the item was cancelled while it rendered) removes what it uploaded, unless
    another run has taken the item since (the same keys are then that run's). A run that completes
    removes what an earlier render made under recipes since changed or dropped.
    """
    stored = rendered.stored
    with transaction(ctx.pool) as conn:
        ended = media.complete_run(conn, job.run, stored, rendered.metadata, rendered.thumbhash,
                                   rendered.recipe_versions)
        completed = ended is not None
        if not completed and media.lock_unfinished_run(conn, job.run):
            ctx.storage.delete([derivative["key"] for derivative in stored])
            log.info("media %s: task %s was refused its completion; removed its %d derivative(s)",
                     job.media_id, job.run.task_id, len(stored))
        _note_facts(conn, job, ended)
    if completed and rendered.superseded:
        _remove_superseded(ctx, job, rendered.superseded)
    return completed


def _remove_superseded(ctx: ThumbnailsContext, job: Job, keys: list[str]) -> None:
    try:
        ctx.storage.delete(keys)
    except SequoiaError as err:  # the item is done; a leftover object only costs room
        log.warning("media %s: could not remove %d superseded derivative(s): %s", job.media_id, len(keys), err)


def record_failed(ctx: ThumbnailsContext, job: Job, code: str, message: str) -> bool:
    """Mark the item failed with a stable code (its batch finalised if it was the last)."""
    with transaction(ctx.pool) as conn:
        ended = media.fail_run(conn, job.run, code, message)
        _note_facts(conn, job, ended)
        return ended is not None


def record_retrying(ctx: ThumbnailsContext, job: Job, code: str, message: str) -> None:
    """Keep the last transient error visible while the task waits to retry."""
    with transaction(ctx.pool) as conn:
        media.mark_retrying(conn, job.run, code, message)
        _note_facts(conn, job)


def _note_facts(conn: psycopg.Connection, job: Job, ended: media.Ended | None = None) -> None:
    """Keep the item's facts for the metrics: as the run's end returned them, else read (a refused or
    retried run), in the transaction that recorded it."""
    facts = ended.facts if ended is not None else item_facts(conn, job.media_id)
    if facts is not None:
        job.facts.append(facts)
