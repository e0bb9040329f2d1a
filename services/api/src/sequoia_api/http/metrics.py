"""The API's metrics: a request middleware (count and latency by route template and status), the
ingest counters and the `/metrics` endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sequoia_api.services.ingest import REJECTION_CODES, Accepted, FileResult, Rejected
from sequoia_core import metrics
from sequoia_core.mediatypes import MediaKind

METRICS_PATH = "/metrics"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["health"])


def route_label(scope: Scope) -> str:
    """The route template that served the request (`/api/media/{media_id}`), never the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or metrics.UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts and times every HTTP request except Prometheus's own scrapes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope.get("method", "GET")
            labels = (method if method in _METHODS else "other", route_label(scope), str(status))
            metrics.API_REQUESTS.labels(*labels).inc()
            metrics.API_LATENCY.labels(*labels).observe(time.perf_counter() - started)


def count_ingest(results: Iterable[FileResult]) -> None:
    """Count accepted files (and bytes) by media kind and refused files by error code (a duplicate is neither)."""
    for result in results:
        if isinstance(result, Accepted):
            metrics.INGEST_FILES.labels(result.item.media_kind).inc()
            metrics.INGEST_BYTES.labels(result.item.media_kind).inc(result.item.size_bytes)
        elif isinstance(result, Rejected):
            metrics.INGEST_REJECTED.labels(str(result.error.code)).inc()


def install_metrics(app: FastAPI) -> None:
    """Add the middleware and `/metrics`, and create the ingest series of every media kind and every
    refusal code at zero (so their rates are exact from the first file)."""
    app.add_middleware(MetricsMiddleware)
    app.include_router(router)
    for kind in MediaKind:
        metrics.INGEST_FILES.labels(kind.value)
        metrics.INGEST_BYTES.labels(kind.value)
    for code in REJECTION_CODES:
        metrics.INGEST_REJECTED.labels(str(code))


@router.get(METRICS_PATH, include_in_schema=False)
def read_metrics(request: Request) -> Response:
    """Prometheus exposition of this API process (or of all its processes in multiprocess mode)."""
    registry = metrics.exposition_registry(request.app.state.sequoia.settings.prometheus_multiproc_dir)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
