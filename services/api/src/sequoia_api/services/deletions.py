"""Deleting items and voyages: rows go at once in one transaction (with a deletion row per item), work
in flight is stopped the way a cancel stops it, and the media worker removes the S3 objects later
(sequoia_media/deleter.py). Repeating a delete reports the same deletion; it never fails."""

from __future__ import annotations

import logging
from uuid import UUID

from sequoia_api.schemas import MediaDeletion, VoyageDeletion
from sequoia_api.services.tasks import revoke
from sequoia_api.state import ApiState
from sequoia_core.db import batches, deletions, media
from sequoia_core.db.deletions import Deletion, Removed
from sequoia_core.db.pool import transaction
from sequoia_core.errors import NotFound, TransientError
from sequoia_core.lifecycle import Status

log = logging.getLogger(__name__)


def _in_scope(voyage_slug: str, voyages: frozenset[str] | None) -> bool:
    return voyages is None or voyage_slug in voyages


def _stop(state: ApiState, removed: list[Removed]) -> int:
    """Revoke with terminate the renders running for the removed items; how many. Waiting messages
    need no revoke (a voyage may have thousands): with the row gone, their claim matches nothing and
    the worker skips them. A revoke that cannot be sent (the broker away) is only logged: nothing the
    render does can be recorded any more, and the deleter waits it out."""
    terminated = 0
    for item in (i for i in removed if i.previous_status == Status.PROCESSING):
        try:
            terminated += revoke(state, item.task_id, item.previous_status)
        except TransientError as err:
            log.warning("delete: could not revoke task %s of media %s: %s", item.task_id, item.media_id, err)
    return terminated


def _deletion_out(deletion: Deletion, terminated: bool) -> MediaDeletion:
    return MediaDeletion(media_id=deletion.media_id, voyage_slug=deletion.voyage_slug,
                         state="pending" if deletion.completed_at is None else "done",
                         requested_at=deletion.requested_at, completed_at=deletion.completed_at,
                         attempts=deletion.attempts, last_error=deletion.last_error, terminated=terminated)


def delete_media(state: ApiState, media_id: UUID, voyages: frozenset[str] | None) -> MediaDeletion:
    """Delete one item (only in `voyages`, when the token is limited to some); `NotFound` if it never
    existed there. A repeat answers the deletion already under way (or done)."""
    with transaction(state.pool) as conn:
        row = media.get_media(conn, media_id)
        removed = None
        if row is not None and _in_scope(row.voyage_slug, voyages):
            removed = deletions.remove_item(conn, media_id)
            if removed is not None:
                batches.finalize_all(conn, [removed.batch_id])
        deletion = deletions.get_deletion(conn, media_id)
    if deletion is None or not _in_scope(deletion.voyage_slug, voyages):
        raise NotFound(f"no media item {media_id}")
    terminated = _stop(state, [removed]) if removed is not None else 0
    return _deletion_out(deletion, terminated > 0)


def delete_voyage(state: ApiState, voyage_slug: str) -> VoyageDeletion:
    """Delete every item and batch of a voyage; `NotFound` if it never had any. A repeat reports
    the deletions under way."""
    with transaction(state.pool) as conn:
        removed = deletions.remove_voyage(conn, voyage_slug)
        pending, done = deletions.voyage_progress(conn, voyage_slug)
    if pending + done == 0:
        raise NotFound(f"no media for voyage {voyage_slug}")
    terminated = _stop(state, removed)
    log.info("deleted voyage %s: %d item(s), %d running render(s) terminated", voyage_slug, len(removed), terminated)
    return VoyageDeletion(voyage_slug=voyage_slug, deleted=len(removed), terminated=terminated, pending=pending,
                          done=done)
