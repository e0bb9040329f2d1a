"""Worker health: who serves each queue, how much waits and for how long."""

from __future__ import annotations

from sequoia_api.services.k8s_replicas import read_worker_replicas
from sequoia_api.schemas import QueueHealth, WorkerHealth
from sequoia_api.state import ApiState
from sequoia_core import broker
from sequoia_core.db import reports
from sequoia_core.db.pool import transaction
from sequoia_core.errors import TransientError


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
    workers = state.control.workers_by_queue()
    with transaction(state.pool) as conn:
        ages = reports.oldest_waiting_seconds(conn)
    queues = {
        name: QueueHealth(workers=workers.get(name, []), workers_online=len(workers.get(name, [])),
                          depth=depth, oldest_queued_age_seconds=ages.get(name))
        for name, depth in depths.items()
    }
    status, reasons = _verdict(queues, state.settings.health_max_queue_age_seconds)
    deployments, problem = _deployments(state)
    return WorkerHealth(status=status, reasons=reasons + problem, queues=queues, deployments=deployments)


def _deployments(state: ApiState) -> tuple[dict[str, dict[str, int | None]] | None, list[str]]:
    """Desired and ready replicas per worker Deployment, in a cluster; a Kubernetes API that does
    not answer is reported, never fatal (the queues say what matters)."""
    try:
        rows = read_worker_replicas(state.settings)
    except TransientError as err:
        return None, [f"kubernetes: {err.message}"]
    if rows is None:
        return None, []
    return {r.name: {"desired": r.desired, "ready": r.ready, "available": r.available} for r in rows}, []
