"""The database tier: Postgres alone (no Redis, S3 or workers). One migrated database per session;
every test runs in a transaction that is rolled back, so no test sees another's rows."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.support.services import fresh_database


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection inside one transaction, rolled back after the test. `now()` is the transaction's
    start all along: the factories date rows relative to it."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()
