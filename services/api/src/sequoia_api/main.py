"""The FastAPI application factory: `uvicorn --factory sequoia_api.main:create_app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from sequoia_api.http.errors import install_error_handlers
from sequoia_api.http.front_door import FrontDoor
from sequoia_api.http.headers import SecurityHeaders
from sequoia_api.http.metrics import install_metrics
from sequoia_api.http.openapi import install_openapi
from sequoia_api.http.strict_query import reject_unknown_query_params
from sequoia_api.routes import async_tasks, batches, gallery, health, ingest, media, voyages, webhooks
from sequoia_api.state import ApiState
from sequoia_core.errors import SequoiaError
from sequoia_core.logs import configure_api_logging
from sequoia_core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; resources open in its lifespan."""
    settings = settings or get_settings()
    configure_api_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ApiState.build(settings)
        state.pool.open(wait=False)
        await state.read_pool.open(wait=False)
        if settings.s3_create_bucket:
            try:
                state.storage.ensure_bucket()
            except SequoiaError as err:
                log.warning("bucket check failed at start: %s (readyz will say so)", err.message)
        app.state.sequoia = state
        try:
            yield
        finally:
            await state.read_pool.close()
            state.pool.close()
            state.control.close()

    app = FastAPI(
        title="Sequoia",
        summary="Media derivatives in the background: ingest, status and health.",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_params)],
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(FrontDoor, settings=settings)  # inside the metrics middleware: refusals are counted
    install_metrics(app)
    app.add_middleware(SecurityHeaders)  # outermost: refusals of the front door get the headers too
    for router in (health.router, ingest.router, batches.router, media.router, voyages.router, async_tasks.router,
                   webhooks.router, gallery.router, gallery.link_router):
        app.include_router(router)
    return app
