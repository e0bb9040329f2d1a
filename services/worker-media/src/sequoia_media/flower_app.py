"""Flower's entry module: `FLOWER_BASIC_AUTH=USER:PASSWORD celery -A sequoia_media.flower_app flower`
(credentials in the environment, never in the arguments that `ps` shows).

Flower guards its pages and API with basic auth but answers `/metrics` to anyone. Here `/metrics`
requires the same credentials, so Prometheus scrapes it with basic auth and nobody else reads it.
`/healthcheck` (a bare "OK", for probes) stays open.
"""

from __future__ import annotations

from flower import urls
from flower.views.monitor import Metrics
from tornado import web

from sequoia_media.worker import app

__all__ = ["app"]


class AuthenticatedMetrics(Metrics):
    """Flower's metrics handler behind Flower's own authentication."""

    @web.authenticated
    async def get(self) -> None:
        """The Prometheus exposition, for an authenticated client only."""
        await super().get()


def require_auth_for_metrics(handlers: list) -> None:
    """Swap Flower's `/metrics` handler for the authenticated one, in its URL table."""
    for index, handler in enumerate(handlers):
        if isinstance(handler, tuple) and handler[1] is Metrics:
            handlers[index] = (handler[0], AuthenticatedMetrics, *handler[2:])
            return
    raise RuntimeError("Flower's /metrics handler was not found: this Flower version is not supported")


# Flower builds its application from this table after importing the app module (`-A`).
require_auth_for_metrics(urls.handlers)
