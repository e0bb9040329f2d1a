"""Load run of the status endpoints against the local stack (`make bench-api`).

Seeds a voyage of 100,000 items, then drives each endpoint at a constant request rate with wrk
(`paced.lua`, wrk2's model: requests spread evenly over time, late starts counted) and prints p50/p99
latency, the rate achieved, errors and the API process's CPU per request; then, as headroom, the
most each endpoint answers per second with 8 connections and no pacing. The baseline is `/healthz`
at the same rate in the same run (the cost of HTTP and the framework alone); `×base` is an
endpoint's p99 over the baseline's. Targets (2-core machine): media-processing-status and
async-tasks/{id} p99 < 50 ms at 200 req/s; thumbnail-generation-stats p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.api.seed import ROWS, VOYAGE, seed
from sequoia_core.settings import get_settings

PACED_LUA = Path(__file__).with_name("paced.lua")
API_PID_FILE = Path("var/run/api.pid")
CONNECTIONS = 32  # enough free connections to hold the rate while each waits up to 160 ms
CAPACITY_CONNECTIONS = 8
WARM_UP_SECONDS = 3
CAPACITY_SECONDS = 5


@dataclass(frozen=True)
class Scenario:
    name: str
    rate: int
    target_p99_ms: float | None
    path: str
    paths_file: Path | None = None  # one path per line, picked at random per request


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    late: int
    api_cpu_ms: float | None  # per request
    capacity: float  # req/s answered with no pacing

    @property
    def achieved_rate(self) -> float:
        return self.requests / self.seconds

    def verdict(self) -> str:
        target = self.scenario.target_p99_ms
        if target is None:
            return ""
        misses = [f"p99 ≥ {target:.0f} ms"] if self.p99_ms >= target else []
        if self.errors:
            misses.append("errors")
        if self.late or self.achieved_rate < 0.99 * self.scenario.rate:
            misses.append("rate not held")
        return f"[red]missed: {', '.join(misses)}" if misses else "[green]met"


def api_cpu_seconds() -> float | None:
    """User + system CPU of the local stack's API process so far (None if it is not ours)."""
    try:
        fields = Path(f"/proc/{API_PID_FILE.read_text().strip()}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(base_url: str, token: str, scenario: Scenario, seconds: float, rate: int, connections: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "-H", f"Authorization: Bearer {token}",
               "-s", str(PACED_LUA), base_url + scenario.path, "--", str(rate)]
    if scenario.paths_file:
        command.append(str(scenario.paths_file))
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def drive(base_url: str, token: str, scenario: Scenario, seconds: float) -> Result:
    wrk(base_url, token, scenario, WARM_UP_SECONDS, scenario.rate, CONNECTIONS)  # fills pools, prepares statements
    cpu_before = api_cpu_seconds()
    stats = wrk(base_url, token, scenario, seconds, scenario.rate, CONNECTIONS)
    cpu_after = api_cpu_seconds()
    cpu = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / stats["requests"]
    flat_out = wrk(base_url, token, scenario, CAPACITY_SECONDS, 0, CAPACITY_CONNECTIONS)
    return Result(scenario, stats["requests"], stats["duration_us"] / 1e6, stats["p50_us"] / 1000,
                  stats["p99_us"] / 1000, stats["socket_errors"] + stats["http_errors"], stats["late"], cpu,
                  capacity=flat_out["requests"] / (flat_out["duration_us"] / 1e6))


def scenarios(task_paths: Path) -> list[Scenario]:
    return [
        Scenario("baseline /healthz", 200, None, "/healthz"),
        Scenario(f"media-processing-status ({ROWS:,})", 200, 50, f"/api/async/media-processing-status/{VOYAGE}"),
        Scenario("async-tasks/{id}", 200, 50, "/", task_paths),
        Scenario("async-tasks?voyage (page of 50)", 100, None, f"/api/async/async-tasks?voyage={VOYAGE}"),
        Scenario("thumbnail-generation-stats", 20, 200, "/api/async/thumbnail-generation-stats?window=1h"),
    ]


def main(seconds: float) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench-api` installs it (Debian package wrk)")
    settings = get_settings()
    task_ids = seed(settings.database_url)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as task_paths:
        task_paths.write("".join(f"/api/async/async-tasks/{task_id}\n" for task_id in task_ids))
        task_paths.flush()
        results = []
        for scenario in scenarios(Path(task_paths.name)):
            print(f"driving {scenario.name} at {scenario.rate} req/s for {seconds:.0f} s", flush=True)
            results.append(drive(settings.sequoia_api_url, settings.api_tokens[0], scenario, seconds))
    report(results)


def report(results: list[Result]) -> None:
    base_p99 = results[0].p99_ms
    table = Table(title=f"Sequoia API at a constant rate ({VOYAGE}: {ROWS:,} items; wrk, {CONNECTIONS} connections)")
    columns = ("endpoint", "rate", "achieved req/s", "p50 ms", "p99 ms", "×base p99", "errors", "late",
               "API CPU ms/req", "capacity req/s", "target")
    for column in columns:
        table.add_column(column, justify="left" if column in ("endpoint", "target") else "right")
    for r in results:
        cpu = "" if r.api_cpu_ms is None else f"{r.api_cpu_ms:.2f}"
        table.add_row(r.scenario.name, str(r.scenario.rate), f"{r.achieved_rate:.0f}", f"{r.p50_ms:.1f}",
                      f"{r.p99_ms:.1f}", f"{r.p99_ms / base_p99:.1f}", str(r.errors), str(r.late), cpu,
                      f"{r.capacity:.0f}", r.verdict())
    Console(width=160).print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per endpoint, after a 3 s warm-up")
    main(parser.parse_args().seconds)
