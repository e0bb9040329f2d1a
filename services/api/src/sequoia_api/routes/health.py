"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sequoia_api.deps import State
from sequoia_api.schemas import Readiness
from sequoia_core.errors import SequoiaError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def read_liveness() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _check(probe) -> str:
    try:
        probe()
    except SequoiaError as err:
        return f"error: {err.message}"
    except Exception as err:  # any failure of a dependency means "not ready"; report it, never raise
        return f"error: {type(err).__name__}: {err}"
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

    checks = {"postgres": _check(postgres), "redis": _check(redis), "s3": _check(state.storage.ensure_bucket)}
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "unready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
