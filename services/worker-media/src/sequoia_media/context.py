"""What a media-worker process needs, built once per process on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from psycopg_pool import ConnectionPool
from redis import Redis

from sequoia_core.db.pool import create_pool
from sequoia_core.redis_client import redis_client
from sequoia_core.settings import Settings, get_settings
from sequoia_core.storage import Storage


@dataclass
class MediaWorkerContext:
    """Settings, database pool, a Redis client (to look at the queues) and S3 of one worker process."""

    settings: Settings
    pool: ConnectionPool
    redis: Redis
    storage: Storage


@cache
def worker_context() -> MediaWorkerContext:
    """This process's context; the pool opens here, never at import."""
    settings = get_settings()
    pool = create_pool(settings, min_size=1)
    pool.open(wait=False)
    return MediaWorkerContext(settings=settings, pool=pool, redis=redis_client(settings), storage=Storage(settings))
