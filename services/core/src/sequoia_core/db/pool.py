"""Connections to Postgres, with connection errors translated to `TransientError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from sequoia_core.errors import ErrorCode, TransientError
from sequoia_core.settings import Settings


def create_pool(settings: Settings, *, min_size: int = 1) -> ConnectionPool:
    """A connection pool; opened by the caller (`pool.open()`), never at import."""
    return ConnectionPool(
        settings.database_url,
        min_size=min_size,
        max_size=settings.db_pool_max_size,
        kwargs={"autocommit": False},
        open=False,
        check=ConnectionPool.check_connection,
        timeout=10,
    )


@contextmanager
def transaction(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A connection in one transaction: committed on success, rolled back on error."""
    try:
        with pool.connection() as conn:
            yield conn
    except (psycopg.OperationalError, psycopg.InterfaceError) as err:
        # PoolTimeout is an OperationalError too.
        raise TransientError(f"postgres unavailable: {err}", code=ErrorCode.DATABASE_UNAVAILABLE) from err
