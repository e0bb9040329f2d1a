"""Generation statistics: totals, windowed failure rate and throughput, runtime percentiles, queue depths."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from sequoia_api.schemas import GenerationStats, KindRuntime, PriorityLane, WindowStats
from sequoia_api.state import ApiState
from sequoia_core import broker, tasks
from sequoia_core.db import reports
from sequoia_core.db.pool import transaction
from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.queues import Priority, queue_for
from sequoia_core.recipes import current_versions

WINDOW_PATTERN = r"^[1-9]\d{0,5}[smhd]$"
_WINDOW = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = timedelta(days=90)


def parse_window(text: str) -> timedelta:
    """`30m`, `1h`, `7d` → a timedelta, capped at 90 days (the answer's `window_seconds` shows the cap)."""
    match = _WINDOW.match(text)
    if not match or int(match.group(1)) == 0:
        raise PermanentError("window must look like 30s, 15m, 1h or 7d", code=ErrorCode.INVALID_WINDOW)
    return min(timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)]), MAX_WINDOW)


def by_state_and_kind(rows: list[reports.CountRow]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Count rows summed by state, and by kind then state."""
    by_state: dict[str, int] = defaultdict(int)
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_state[row.processing_status] += row.count
        by_kind[row.media_kind][row.processing_status] = row.count
    return dict(by_state), dict(by_kind)


def generation_stats(state: ApiState, window: str) -> GenerationStats:
    """Totals, windowed failure rate and throughput, runtime percentiles per kind, queue depths."""
    span = parse_window(window)
    depths = broker.queue_depths(state.redis)
    with transaction(state.pool) as conn:
        by_state, by_kind = by_state_and_kind(reports.counts(conn))
        stale = reports.stale_counts(conn, current_versions(state.settings.recipes))
        per_kind = reports.window_stats(conn, span)
        waits = reports.oldest_waiting_seconds(conn)
    completed = sum(k.completed for k in per_kind)
    failed = sum(k.failed for k in per_kind)
    finished = completed + failed
    return GenerationStats(
        window_seconds=int(span.total_seconds()),
        totals_by_state=by_state,
        totals_by_kind=by_kind,
        stale_by_kind={row.media_kind: row.count for row in stale},
        window=WindowStats(
            completed=completed,
            failed=failed,
            failure_rate=round(failed / finished, 4) if finished else None,
            throughput_per_minute=round(finished / (span.total_seconds() / 60), 3),
        ),
        runtime_by_kind={
            k.media_kind: KindRuntime(completed=k.completed, failed=k.failed, p50_seconds=k.p50_seconds,
                                      p95_seconds=k.p95_seconds)
            for k in per_kind
        },
        queue_depths=depths,
        priorities=priority_lanes(depths, waits),
    )


def priority_lanes(depths: dict[str, int], waits: dict[str, float]) -> dict[str, PriorityLane]:
    """Each priority's lane of the derivatives task with its depth and oldest wait."""
    lanes = {p.value: queue_for(tasks.GENERATE_DERIVATIVES, p).value for p in Priority}
    return {p: PriorityLane(queue=q, depth=depths.get(q, 0), oldest_wait_seconds=round(waits.get(q, 0.0), 3))
            for p, q in lanes.items()}
