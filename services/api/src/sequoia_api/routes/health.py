"""Liveness and readiness."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from kombu.exceptions import LimitExceeded
from starlette.concurrency import run_in_threadpool

from sequoia_api.deps import State
from sequoia_api.schemas import Readiness
from sequoia_api.state import ApiState
from sequoia_core.errors import SequoiaError

log = logging.getLogger(__name__)
LIVENESS_WAIT_SECONDS = 2.0
router = APIRouter(tags=["health"])


def _connection_frees_up(state: ApiState) -> bool:
    try:
        with state.celery.pool.acquire(block=True, timeout=LIVENESS_WAIT_SECONDS):
            return True
    except LimitExceeded:
        return False


@router.get("/healthz", responses={503: {"description": "the process can no longer publish"}})
async def read_liveness(state: State) -> JSONResponse:
    """The process is up and can still publish: a broker connection is free within seconds (503 if not,
    so the liveness probe restarts a process whose publishing is stuck). It does not need Redis up."""
    try:
        state.celery.pool.acquire(block=False).release()  # the usual case, answered on the event loop
    except LimitExceeded:
        if not await run_in_threadpool(_connection_frees_up, state):
            return JSONResponse({"status": "cannot_publish"}, status_code=503)
    return JSONResponse({"status": "ok"})


def _check(name: str, probe) -> str:
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


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def read_readiness(state: State) -> JSONResponse:
    """Postgres, Redis and S3 all answer (503 otherwise). The S3 check creates a missing bucket when
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
    body = Readiness(status="ready" if ready else "unready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
