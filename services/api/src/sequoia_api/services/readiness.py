"""Liveness and readiness of this API process: can it still publish, do Postgres, Redis and S3 answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from kombu.exceptions import LimitExceeded

from sequoia_api.schemas import Readiness
from sequoia_api.state import ApiState
from sequoia_core.errors import SequoiaError

log = logging.getLogger(__name__)
LIVENESS_WAIT_SECONDS = 2.0


def broker_connection_free(state: ApiState, wait: bool) -> bool:
    """Whether a broker connection of the publishing pool is free now, or (`wait`) within seconds."""
    try:
        state.celery.pool.acquire(block=wait, timeout=LIVENESS_WAIT_SECONDS if wait else None).release()
    except LimitExceeded:
        return False
    return True


def _check(name: str, probe: Callable[[], object]) -> str:
    # The answer is public (probes carry no token): it says which service, never a host name or error text,
    # which go to the log.
    try:
        probe()
    except SequoiaError as err:
        log.warning("readyz: %s unavailable: %s", name, err.message)
        return "unavailable"
    except Exception as err:  # any failure of a dependency means "not ready"; log it, never raise
        log.warning("readyz: %s unavailable: %s: %s", name, type(err).__name__, err)
        return "unavailable"
    return "ok"


def readiness(state: ApiState) -> Readiness:
    """Postgres, Redis and S3 each `ok` or `unavailable`. The S3 check creates a missing bucket when
    S3_CREATE_BUCKET says so, so an API that started before S3 turns ready once S3 is up."""

    def postgres() -> None:
        with state.pool.connection(timeout=3) as conn:
            conn.execute("SELECT 1")

    def redis() -> None:
        with state.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    checks = {"postgres": _check("postgres", postgres), "redis": _check("redis", redis),
              "s3": _check("s3", state.storage.ensure_bucket)}
    ready = all(v == "ok" for v in checks.values())
    return Readiness(status="ready" if ready else "unready", checks=checks)
