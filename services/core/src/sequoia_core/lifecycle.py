"""The item lifecycle: every processing state, the groups callers ask about, and the transitions the
guarded updates of `sequoia_core.db.media` and `sequoia_core.db.transitions` make. Everything that
lists states (SQL parameters, reports, the gallery, the CLI, task views, schemas) derives from here."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Processing states of a media item."""

    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# An item is open until it is final; a final item changes only when a retry of a failed one reopens it.
FINAL_STATES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
ACTIVE_STATES = tuple(s for s in Status if s not in FINAL_STATES)
# Waiting for a worker: a fresh delivery may claim the item (and the queue's age counts it).
CLAIMABLE_STATES = (Status.PENDING, Status.QUEUED)
# A run holds the item: its worker must still be alive.
HELD_STATES = (Status.PROCESSING, Status.RETRYING)
# Past the stuck deadline these get a fresh task (pending is the outbox relay's).
STUCK_STATES = (Status.QUEUED, *HELD_STATES)
# Its task's message should be on the broker (a retry waits there for its countdown).
ON_BROKER_STATES = (Status.QUEUED, Status.RETRYING)
CANCELLABLE_STATES = ACTIVE_STATES
RETRYABLE_STATES = (Status.FAILED,)

# Every move a guarded update makes (`tests/db/test_lifecycle_table.py` drives each operation from each
# state and checks the database allows exactly these). A requeue (sweeper, recovery, retry) gives the
# item a fresh task in `pending`; a stale or dead run's item is claimed again from `processing`.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.QUEUED, Status.PROCESSING, Status.CANCELLED}),
    Status.QUEUED: frozenset({Status.PENDING, Status.PROCESSING, Status.FAILED, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.PENDING, Status.PROCESSING, Status.RETRYING, Status.COMPLETED,
                                  Status.FAILED, Status.CANCELLED}),
    Status.RETRYING: frozenset({Status.PENDING, Status.PROCESSING, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset({Status.PENDING}),
    Status.CANCELLED: frozenset(),
}


class BatchStatus(StrEnum):
    """States of an ingest batch: open while any of its items is, then final by how its items ended."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    CANCELLED = "cancelled"


OPEN_BATCH_STATES = (BatchStatus.PENDING, BatchStatus.PROCESSING)
FINAL_BATCH_STATES = tuple(s for s in BatchStatus if s not in OPEN_BATCH_STATES)


def values(states: tuple[Status, ...] | tuple[BatchStatus, ...]) -> list[str]:
    """A group as an SQL parameter (`processing_status = ANY(%(states)s)`)."""
    return [s.value for s in states]
