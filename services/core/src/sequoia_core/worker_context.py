"""What every worker process needs: settings, a Postgres pool and S3, built once per process on first
use (after the prefork fork, never at import). Each worker extends it with its own parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from psycopg_pool import ConnectionPool

from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage


@dataclass
class WorkerContext:
    """Settings, database pool and storage of one worker process."""

    settings: Settings
    pool: ConnectionPool
    storage: Storage

    @classmethod
    def build(cls, settings: Settings, **parts: Any) -> Self:
        """The context of this process, with a subclass's own `parts`; the pool opens here."""
        pool = create_pool(settings, min_size=1)
        pool.open(wait=False)
        return cls(settings=settings, pool=pool, storage=Storage(settings), **parts)
