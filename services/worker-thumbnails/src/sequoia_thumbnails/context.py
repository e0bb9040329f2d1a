"""What a thumbnails-worker process needs, built once per process on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sequoia_core.settings import get_settings
from sequoia_core.worker_context import WorkerContext
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec


@dataclass
class ThumbnailsContext(WorkerContext):
    """The worker context plus the render engine."""

    engine: Engine


@cache
def worker_context() -> ThumbnailsContext:
    """This process's context."""
    settings = get_settings()
    return ThumbnailsContext.build(settings, engine=Engine(RenderSpec.from_settings(settings)))
