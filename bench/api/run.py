"""Load run of the status endpoints against the local stack (`make bench-api`).

Seeds a voyage of 100,000 items, then drives each endpoint open-loop at a fixed request rate and
prints p50/p99 latency, achieved requests per second and errors. The baseline is `/healthz` at the
same rate in the same run (the cost of HTTP and the framework alone); `×base` is an endpoint's p99
over the baseline's p99. Targets (2-core machine): media-processing-status and async-tasks/{id}
p99 < 50 ms at 200 req/s; thumbnail-generation-stats p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.table import Table

from bench.api.seed import VOYAGE, seed
from sequoia_core.settings import get_settings


@dataclass
class Scenario:
    name: str
    rate: float
    target_p99_ms: float | None
    path: object  # str or a callable returning a path


@dataclass
class Result:
    scenario: Scenario
    latencies_ms: list[float]
    errors: int
    seconds: float

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def drive(client: httpx.AsyncClient, scenario: Scenario, seconds: float) -> Result:
    """Open loop: requests start on schedule whether or not earlier ones have finished."""
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        path = scenario.path() if callable(scenario.path) else scenario.path
        started = time.perf_counter()
        try:
            response = await client.get(path)
            if response.status_code >= 400:
                errors += 1
        except httpx.HTTPError:
            errors += 1
        latencies.append((time.perf_counter() - started) * 1000)

    interval, began, pending = 1.0 / scenario.rate, time.perf_counter(), []
    for i in range(int(seconds * scenario.rate)):
        delay = began + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(one()))
    await asyncio.gather(*pending)
    return Result(scenario, latencies, errors, time.perf_counter() - began)


async def main(seconds: float) -> None:
    settings = get_settings()
    task_ids = seed(settings.database_url)
    scenarios = [
        Scenario("baseline /healthz", 200, None, "/healthz"),
        Scenario("media-processing-status (100k)", 200, 50, f"/api/async/media-processing-status/{VOYAGE}"),
        Scenario("async-tasks/{id}", 200, 50, lambda: f"/api/async/async-tasks/{random.choice(task_ids)}"),
        Scenario("async-tasks?voyage (page 50)", 100, None, f"/api/async/async-tasks?voyage={VOYAGE}"),
        Scenario("thumbnail-generation-stats", 20, 200, "/api/async/thumbnail-generation-stats?window=1h"),
    ]
    headers = {"Authorization": f"Bearer {settings.api_tokens[0]}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=settings.sequoia_api_url, headers=headers, limits=limits,
                                 timeout=30) as client:
        await client.get(scenarios[1].path)  # warm caches once
        results = []
        for scenario in scenarios:
            print(f"driving {scenario.name} at {scenario.rate:.0f} req/s for {seconds:.0f} s", flush=True)
            results.append(await drive(client, scenario, seconds))
    report(results)


def report(results: list[Result]) -> None:
    base_p99 = results[0].percentile(0.99)
    table = Table(title=f"Sequoia API load run ({VOYAGE}: 100,000 items)")
    for column in ("endpoint", "target rate", "achieved req/s", "p50 ms", "p99 ms", "×base p99", "errors", "target"):
        table.add_column(column, justify="right" if column != "endpoint" else "left")
    for r in results:
        p99 = r.percentile(0.99)
        verdict = "" if r.scenario.target_p99_ms is None else (
            "[green]met" if p99 < r.scenario.target_p99_ms else f"[red]missed (< {r.scenario.target_p99_ms:.0f})")
        table.add_row(r.scenario.name, f"{r.scenario.rate:.0f}", f"{len(r.latencies_ms) / r.seconds:.0f}",
                      f"{statistics.median(r.latencies_ms):.1f}", f"{p99:.1f}", f"{p99 / base_p99:.1f}",
                      str(r.errors), verdict)
    Console().print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args().seconds))
