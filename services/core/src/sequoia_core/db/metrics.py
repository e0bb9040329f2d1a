"""Read-only SQL the metrics need: what a finished task did to its media item."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class ItemFacts:
    """A media item as a task left it: its kind, state, last error and, once completed, how long
    it took from ingest to stored derivatives."""

    media_kind: str
    processing_status: str
    error_code: str | None
    end_to_end_seconds: float | None


# The facts as columns of a `media` row: a transition that ends a run returns them as it leaves the row.
FACTS_COLUMNS = """media_kind, processing_status, error_code,
       CASE WHEN processing_status = 'completed'
            THEN extract(epoch FROM completed_at - created_at)::float END AS end_to_end_seconds"""

_FACTS = f"SELECT {FACTS_COLUMNS} FROM media WHERE id = %s"


def item_facts(conn: psycopg.Connection, media_id: UUID) -> ItemFacts | None:
    """The item's facts, or None if there is no such item."""
    with conn.cursor(row_factory=class_row(ItemFacts)) as cur:
        return cur.execute(_FACTS, (media_id,)).fetchone()
