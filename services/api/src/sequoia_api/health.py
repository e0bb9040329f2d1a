"""Worker health (seed: "Health Monitoring"): who serves each queue, how much waits and for how long."""

from __future__ import annotations

from sequoia_api.schemas import QueueHealth, WorkerHealth
from sequoia_api.state import ApiState
from sequoia_core import broker
from sequoia_core.db import reports
from sequoia_core.db.pool import transaction

PING_TIMEOUT = 1.0


def _verdict(queues: dict[str, QueueHealth], max_age: float) -> tuple[str, list[str]]:
    """Unhealthy when work waits with nobody to do it; degraded when work waits too long.

    A queue with no workers and no work is fine: KEDA scales idle workers to zero.
    """
    unhealthy = [f"{name}: {q.depth} waiting and no worker online"
                 for name, q in queues.items() if q.depth > 0 and q.workers_online == 0]
    degraded = [f"{name}: oldest item waited {q.oldest_queued_age_seconds:.0f}s (limit {max_age:.0f}s)"
                for name, q in queues.items()
                if q.oldest_queued_age_seconds is not None and q.oldest_queued_age_seconds > max_age]
    if unhealthy:
        return "unhealthy", unhealthy + degraded
    if degraded:
        return "degraded", degraded
    return "healthy", []


def worker_health(state: ApiState) -> WorkerHealth:
    """Per queue: workers online (Celery ping), depth (Redis) and oldest waiting age (Postgres)."""
    depths = broker.queue_depths(state.redis)
    workers = broker.workers_by_queue(state.celery, timeout=PING_TIMEOUT)
    with transaction(state.pool) as conn:
        ages = reports.oldest_waiting_seconds(conn)
    queues = {
        name: QueueHealth(workers=workers.get(name, []), workers_online=len(workers.get(name, [])),
                          depth=depth, oldest_queued_age_seconds=ages.get(name))
        for name, depth in depths.items()
    }
    status, reasons = _verdict(queues, state.settings.health_max_queue_age_seconds)
    return WorkerHealth(status=status, reasons=reasons, queues=queues)
