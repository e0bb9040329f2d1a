"""Connections to Postgres, with connection errors translated to `TransientError`."""

from __future__ import annotations

import select
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from sequoia_core.errors import ErrorCode, TransientError
from sequoia_core.settings import Settings


def _pool_options(settings: Settings, min_size: int) -> dict:
    return {"conninfo": settings.database_url, "min_size": min_size, "max_size": settings.db_pool_max_size,
            "kwargs": {"autocommit": False}, "open": False, "timeout": 10}


def check_idle_connection(conn: psycopg.Connection) -> None:
    """The pool's check on every checkout, without a round trip while the connection looks sound.

    An idle connection has nothing to read: a server that ended it (restart, failover, idle timeout)
    sent its FATAL message or closed the socket, which makes it readable, and only then is the
    connection asked (`check_connection`, which raises and so has the pool make a new one). A round
    trip on every checkout cost a Postgres wake-up between two tasks (docs/capacity.md, "Bubbles").
    """
    if conn.closed or select.select([conn.fileno()], [], [], 0)[0]:
        ConnectionPool.check_connection(conn)


def create_pool(settings: Settings, *, min_size: int = 1) -> ConnectionPool:
    """A connection pool; opened by the caller (`pool.open()`), never at import."""
    return ConnectionPool(**_pool_options(settings, min_size), check=check_idle_connection)


def create_async_pool(settings: Settings) -> AsyncConnectionPool:
    """The API's pool for reads on the event loop (`await pool.open()`), sized like the sync one."""
    return AsyncConnectionPool(**_pool_options(settings, 1), check=AsyncConnectionPool.check_connection)


# PoolTimeout is an OperationalError too.
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError)


def _unavailable(err: Exception) -> TransientError:
    return TransientError(f"postgres unavailable: {err}", code=ErrorCode.DATABASE_UNAVAILABLE)


@contextmanager
def transaction(pool: ConnectionPool, timeout: float | None = None) -> Iterator[psycopg.Connection]:
    """A connection in one transaction: committed on success, rolled back on error. Waits at most
    `timeout` for a connection (the pool's own wait when None)."""
    try:
        with pool.connection(timeout=timeout) as conn:
            yield conn
    except _UNAVAILABLE as err:
        raise _unavailable(err) from err


@contextmanager
def autocommit(pool: ConnectionPool, timeout: float | None = None) -> Iterator[psycopg.Connection]:
    """A connection outside any transaction: each statement commits on its own, without the BEGIN and
    COMMIT round trips. For work that is one statement, or statements that would share nothing in a
    transaction (under READ COMMITTED each statement takes its own snapshot either way). The
    connection goes back to the pool in transaction mode."""
    try:
        with pool.connection(timeout=timeout) as conn:
            conn.autocommit = True
            try:
                yield conn
            finally:
                # A connection left mid-statement (interrupted) or broken is not idle: the pool drops it.
                if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    conn.autocommit = False
    except _UNAVAILABLE as err:
        raise _unavailable(err) from err


@asynccontextmanager
async def async_transaction(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection]:
    """`transaction` on the event loop."""
    try:
        async with pool.connection() as conn:
            yield conn
    except _UNAVAILABLE as err:
        raise _unavailable(err) from err
