"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sequoia_api.http.deps import State
from sequoia_api.schemas import Readiness
from sequoia_api.services import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "the process can no longer publish"}})
async def read_liveness(state: State) -> JSONResponse:
    """The process is up and can still publish: a broker connection is free within seconds (503 if not,
    so the liveness probe restarts a process whose publishing is stuck). It does not need Redis up."""
    # The usual case is answered on the event loop; only a wait for a busy pool goes to a thread.
    if not readiness.broker_connection_free(state, wait=False) and \
            not await run_in_threadpool(readiness.broker_connection_free, state, True):
        return JSONResponse({"status": "cannot_publish"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def read_readiness(state: State) -> JSONResponse:
    """Postgres, Redis and S3 all answer (503 otherwise). The S3 check creates a missing bucket when
    S3_CREATE_BUCKET says so, so an API that started before S3 turns ready once S3 is up."""
    body = readiness.readiness(state)
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)
