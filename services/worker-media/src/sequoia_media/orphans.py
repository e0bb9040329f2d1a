"""Originals that no item owns: the API stores an upload in S3, then commits its row; when the
commit fails (the database went away, the request died) the file stays with nothing pointing at it.

The janitor removes, on beat, objects under the API's own original keys
(`originals/<voyage>/<media id>/original.<ext>`) whose media id has no row, once they are older than
a safe age (a day by default), so an upload still on its way to its commit is never touched.
Objects under any other key are not the API's and are left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from uuid import UUID

from psycopg_pool import ConnectionPool

from sequoia_core.storage import Storage, StoredObject

log = logging.getLogger(__name__)

PREFIX = "originals/"
_ORIGINAL_KEY = re.compile(r"^originals/[^/]+/(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                           r"/original\.[A-Za-z0-9]+$")
_BATCH = 1000
_KNOWN_IDS = "SELECT id FROM media WHERE id = ANY(%s)"


def remove_orphan_originals(storage: Storage, pool: ConnectionPool, min_age: timedelta) -> list[str]:
    """Remove the orphaned originals older than `min_age`; the keys removed."""
    cutoff = datetime.now(UTC) - min_age
    removed: list[str] = []
    for batch in _batches(_old_originals(storage.iter_objects(PREFIX), cutoff)):
        with pool.connection() as conn:
            known = {row[0] for row in conn.execute(_KNOWN_IDS, ([media_id for _, media_id in batch],))}
        orphans = [key for key, media_id in batch if media_id not in known]
        if orphans:
            storage.delete(orphans)
            log.warning("removed %d original(s) that no item owns: %s", len(orphans), ", ".join(orphans[:5]))
            removed.extend(orphans)
    return removed


def _old_originals(objects: Iterable[StoredObject], cutoff: datetime) -> Iterator[tuple[str, UUID]]:
    for obj in objects:
        match = _ORIGINAL_KEY.match(obj.key)
        if match and obj.last_modified < cutoff:
            yield obj.key, UUID(match["id"])


def _batches(items: Iterator[tuple[str, UUID]]) -> Iterator[list[tuple[str, UUID]]]:
    while batch := list(islice(items, _BATCH)):
        yield batch
