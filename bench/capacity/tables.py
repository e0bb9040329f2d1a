"""Postgres bytes per item: 100,000 final items seeded into a fresh database (`bench.api.seed`:
one media row and one published outbox entry each), vacuumed, then every table's size with its
indexes and TOAST divided by the item count; then how fast the pruner deletes those outbox
entries once past their retention (rows/s, in the default batches). docs/capacity.md turns it
into steady-state sizes.

    python -m bench.capacity.tables
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import psycopg

from bench.api import seed
from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings
from sequoia_media.pruner import prune_outbox
from tests.support.services import fresh_database

_SIZES = """
SELECT relname, pg_table_size(oid), pg_indexes_size(oid), pg_total_relation_size(oid)
  FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname
"""


def measure() -> tuple[dict[str, dict[str, float]], float]:
    """Bytes per seeded item of each table (heap + TOAST, indexes, total), and the prune rate."""
    with fresh_database() as url:
        seed.seed(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            rows = conn.execute(_SIZES).fetchall()
            conn.execute("UPDATE task_outbox SET published_at = published_at - interval '2 days'")
            conn.execute("VACUUM ANALYZE task_outbox")
        rate = _prune_rate(url)
    sizes = {name: {"table": heap / seed.ROWS, "indexes": indexes / seed.ROWS, "total": total / seed.ROWS}
             for name, heap, indexes, total in rows if total}
    return sizes, rate


def _prune_rate(url: str) -> float:
    """Outbox rows deleted per second by the pruner with the default settings."""
    settings = Settings(database_url=url, _env_file=None)
    pool = create_pool(settings)
    pool.open()
    try:
        started = time.perf_counter()
        pruned = prune_outbox(pool, timedelta(hours=settings.outbox_retention_hours),
                              settings.outbox_prune_batch_size, budget_seconds=600)
        return pruned / (time.perf_counter() - started)
    finally:
        pool.close()


def main() -> int:
    """Print bytes per item, table by table, and the JSON."""
    sizes, rate = measure()
    print(f"  {'table':<24} {'heap B/item':>12} {'index B/item':>13} {'total B/item':>13}")
    for name, size in sizes.items():
        print(f"  {name:<24} {size['table']:12.1f} {size['indexes']:13.1f} {size['total']:13.1f}")
    print(f"  pruner: {rate:,.0f} published outbox rows deleted per second (batches of the default size)")
    print(json.dumps(sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
