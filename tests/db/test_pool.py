"""The pool's checkout check: no round trip for a sound idle connection, a fresh connection for one
the server ended."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from sequoia_core.db.pool import autocommit, create_pool, transaction
from sequoia_core.settings import Settings


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    pool = create_pool(Settings(_env_file=None, database_url=database_url, db_pool_max_size=1))
    pool.open(wait=True)
    yield pool
    pool.close()


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The backends the full check (a round trip) was run on."""
    calls: list[int] = []
    real = ConnectionPool.check_connection

    def counted(conn: psycopg.Connection) -> None:
        calls.append(conn.info.backend_pid)
        real(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return calls


def _backend(pool: ConnectionPool) -> int:
    with transaction(pool) as conn:
        return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_a_sound_connection_is_reused_without_a_round_trip(pool, asked):
    first = _backend(pool)

    assert [_backend(pool) for _ in range(3)] == [first] * 3
    assert asked == []


def test_a_connection_the_server_ended_is_asked_and_replaced(pool, asked, database_url):
    first = _backend(pool)
    with psycopg.connect(database_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (first,)).fetchone()[0]
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the terminated backend did not go"
            time.sleep(0.01)

    second = _backend(pool)  # no error: the check found the ended connection and the pool made another

    assert asked == [first]
    assert second != first


def _in_transaction(conn: psycopg.Connection) -> bool:
    return conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


def test_autocommit_commits_each_statement_and_returns_the_connection_in_transaction_mode(pool, database_url):
    with autocommit(pool) as conn:
        conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS seen (n int)")
        conn.execute("INSERT INTO seen VALUES (1)")
        assert not _in_transaction(conn)  # committed already: no COMMIT to send
        backend = conn.info.backend_pid

    with transaction(pool) as conn:
        assert conn.info.backend_pid == backend and not conn.autocommit
        conn.execute("INSERT INTO seen VALUES (2)")
        assert _in_transaction(conn)
        conn.rollback()
        assert conn.execute("SELECT array_agg(n) FROM seen").fetchone()[0] == [1]


def test_autocommit_returns_the_connection_in_transaction_mode_after_an_error(pool):
    with pytest.raises(psycopg.errors.DivisionByZero), autocommit(pool) as conn:
        conn.execute("SELECT 1 / 0")

    with transaction(pool) as conn:
        assert not conn.autocommit
