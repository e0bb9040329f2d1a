"""The API process's long-lived resources, built in the app's lifespan, never at import."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from redis import Redis

from sequoia_api.http.auth import Grant, grants_from
from sequoia_api.http.sessions import Signer
from sequoia_api.services.uploads import SpoolMemory
from sequoia_core.celery_app import create_celery_app
from sequoia_core.control import WorkerControl
from sequoia_core.db.pool import create_async_pool, create_pool
from sequoia_core.redis_client import redis_client
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage


@dataclass
class ApiState:
    """Settings, Postgres pools, S3 storage, a Redis client and the Celery app (used only to send and inspect).

    `read_pool` serves the hot status reads, which run on the event loop; `pool` everything else.
    `upload_memory` is the budget every upload request spools its files within before using the disk.
    """

    settings: Settings
    pool: ConnectionPool
    read_pool: AsyncConnectionPool
    storage: Storage
    celery: Celery
    redis: Redis
    grants: tuple[Grant, ...]
    signer: Signer
    control: WorkerControl
    upload_memory: SpoolMemory

    @classmethod
    def build(cls, settings: Settings) -> ApiState:
        """Create (not yet open) every resource."""
        return cls(
            settings=settings,
            pool=create_pool(settings),
            read_pool=create_async_pool(settings),
            storage=Storage(settings),
            celery=create_celery_app(settings, main="sequoia-api"),
            redis=redis_client(settings),
            grants=grants_from(settings),
            signer=Signer.from_settings(settings),
            control=WorkerControl(settings, "sequoia-api"),
            upload_memory=SpoolMemory(settings.upload_memory_bytes),
        )
