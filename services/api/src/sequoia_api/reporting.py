"""Read-side answers of the status endpoints, from Postgres (set-based SQL) and Redis."""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from datetime import datetime, timedelta
from uuid import UUID

import psycopg

from sequoia_api.schemas import (
    BatchSummary,
    ErrorInfo,
    FailedItemOut,
    GenerationStats,
    KindRuntime,
    VoyageStatus,
    WindowStats,
)
from sequoia_core.db import reports
from sequoia_core.db.media import FINAL_STATES
from sequoia_core.errors import NotFound, PermanentError

WINDOW_PATTERN = r"^[1-9]\d{0,5}[smhd]$"
_WINDOW = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = timedelta(days=90)


def parse_window(text: str) -> timedelta:
    """`30m`, `1h`, `7d` → a timedelta, capped at 90 days (the answer's `window_seconds` shows the cap)."""
    match = _WINDOW.match(text)
    if not match or int(match.group(1)) == 0:
        raise PermanentError("window must look like 30s, 15m, 1h or 7d", code="invalid_window")
    return min(timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)]), MAX_WINDOW)


def encode_cursor(created_at: datetime, media_id: UUID) -> str:
    """An opaque keyset cursor."""
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{media_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The keyset position of a cursor; `invalid_cursor` if it was not made by `encode_cursor`."""
    try:
        created, media_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), UUID(media_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise PermanentError("cursor is not one this API issued", code="invalid_cursor") from err


def _by_state_and_kind(rows: list[reports.CountRow]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    by_state: dict[str, int] = defaultdict(int)
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_state[row.processing_status] += row.count
        by_kind[row.media_kind][row.processing_status] = row.count
    return dict(by_state), dict(by_kind)


async def voyage_status(conn: psycopg.AsyncConnection, voyage_slug: str, failed_limit: int = 20) -> VoyageStatus:
    """Counts by state and kind, progress, failures and batches of one voyage."""
    snapshot = await reports.voyage_snapshot(conn, voyage_slug, failed_limit)
    by_state, by_kind = _by_state_and_kind(snapshot.counts)
    total = sum(by_state.values())
    if total == 0:
        raise NotFound(f"no media for voyage {voyage_slug}")
    finished = sum(by_state.get(s, 0) for s in FINAL_STATES)
    failed = [
        FailedItemOut(media_id=f.id, filename=f.original_filename, media_kind=f.media_kind,
                      error=ErrorInfo(code=f.error_code or "unknown", message=f.error_message))
        for f in snapshot.failed
    ]
    batches = [
        BatchSummary(id=b.id, batch_status=b.batch_status, total_items=b.total_items, created_at=b.created_at,
                     completed_at=b.completed_at)
        for b in snapshot.batches
    ]
    return VoyageStatus(voyage_slug=voyage_slug, total=total, counts_by_state=by_state, counts_by_kind=by_kind,
                        progress_percent=round(100.0 * finished / total, 2), failed_items=failed, batches=batches)


def generation_stats(conn: psycopg.Connection, window: timedelta, depths: dict[str, int]) -> GenerationStats:
    """Totals, windowed failure rate and throughput, runtime percentiles per kind."""
    by_state, by_kind = _by_state_and_kind(reports.counts(conn))
    per_kind = reports.window_stats(conn, window)
    completed = sum(k.completed for k in per_kind)
    failed = sum(k.failed for k in per_kind)
    finished = completed + failed
    return GenerationStats(
        window_seconds=int(window.total_seconds()),
        totals_by_state=by_state,
        totals_by_kind=by_kind,
        window=WindowStats(
            completed=completed,
            failed=failed,
            failure_rate=round(failed / finished, 4) if finished else None,
            throughput_per_minute=round(finished / (window.total_seconds() / 60), 3),
        ),
        runtime_by_kind={
            k.media_kind: KindRuntime(completed=k.completed, failed=k.failed, p50_seconds=k.p50_seconds,
                                      p95_seconds=k.p95_seconds)
            for k in per_kind
        },
        queue_depths=depths,
    )
