"""What a worker process needs, built once per process on first use (after the prefork fork)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from psycopg_pool import ConnectionPool

from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings, get_settings
from sequoia_core.storage import Storage
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec


@dataclass
class WorkerContext:
    """Settings, database pool, storage and engine of one worker process."""

    settings: Settings
    pool: ConnectionPool
    storage: Storage
    engine: Engine


@cache
def worker_context() -> WorkerContext:
    """This process's context; the pool opens here, never at import."""
    settings = get_settings()
    pool = create_pool(settings, min_size=1)
    pool.open(wait=False)
    return WorkerContext(
        settings=settings,
        pool=pool,
        storage=Storage(settings),
        engine=Engine(RenderSpec.from_settings(settings)),
    )
