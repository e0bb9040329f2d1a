"""The pool's checkout check, alone: a one-statement transaction with psycopg_pool's `check_connection`
(a round trip on every checkout) against Sequoia's `check_idle_connection`, alternated in one process.

    python -m bench.system.pool_check [--rounds 5] [--transactions 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from psycopg_pool import ConnectionPool

from sequoia_core.db.pool import check_idle_connection
from tests.support.services import fresh_database

CHECKS = {"check_connection": ConnectionPool.check_connection, "check_idle_connection": check_idle_connection}


def _run(pool: ConnectionPool, transactions: int) -> tuple[float, float]:
    """Wall and client CPU seconds per transaction."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(transactions):
        with pool.connection() as conn:
            conn.execute("SELECT 1").fetchone()
    return (time.perf_counter() - wall) / transactions, (time.process_time() - cpu) / transactions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--transactions", type=int, default=500)
    args = parser.parse_args()
    with fresh_database() as url:
        pools = {name: ConnectionPool(url, min_size=1, max_size=1, kwargs={"autocommit": False}, check=check,
                                      open=True) for name, check in CHECKS.items()}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in pools}
        for _ in range(args.rounds):
            for name, pool in pools.items():
                results[name].append(_run(pool, args.transactions))
        for pool in pools.values():
            pool.close()
    for name, runs in results.items():
        print(f"{name:<22} per transaction, median of {args.rounds}: wall "
              f"{statistics.median(r[0] for r in runs) * 1e6:,.0f} µs, client CPU "
              f"{statistics.median(r[1] for r in runs) * 1e6:,.0f} µs")
    print(f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
