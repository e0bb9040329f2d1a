"""The schema: safe to apply twice, and the seed's three SQL queries run as written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from sequoia_core.db.migrate import apply_migrations
from tests.support.tools import require_binary

ROOT = Path(__file__).resolve().parents[2]
SEED_QUERIES = [
    "SELECT * FROM media_processing_summary;",
    "SELECT * FROM media WHERE processing_status = 'failed';",
    "SELECT * FROM async_task_batches WHERE batch_status = 'processing';",
]


def test_runner_is_safe_to_run_twice(settings):
    assert apply_migrations(settings.database_url, ROOT / "migrations") == []


def test_seed_psql_command_runs_twice(settings):
    psql = require_binary("psql", "postgresql-client")
    for _ in range(2):
        subprocess.run(
            [psql, "-v", "ON_ERROR_STOP=1", "-q", "-d", settings.database_url,
             "-f", str(ROOT / "migrations" / "add_async_media_processing.sql")],
            check=True, capture_output=True,
        )


@pytest.mark.parametrize("query", SEED_QUERIES)
def test_seed_queries_run_as_written(settings, query):
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(query).fetchall()
