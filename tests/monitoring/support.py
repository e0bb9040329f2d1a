"""Real processes for the monitoring tests: the API under uvicorn, Flower through its start script,
Prometheus from Debian's package, and a client of Prometheus's HTTP API."""

from __future__ import annotations

import json
import math
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import BIN, ROOT, WorkerProcess, spawn, wait_http

RULES = ROOT / "monitoring" / "prometheus" / "rules.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "sequoia-dashboard.json"
SLOW_JOBS = ("sequoia-worker", "sequoia-queues")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_flower(env: dict[str, str], workdir: Path, password: str) -> tuple[WorkerProcess, str]:
    """Flower through a copy of `scripts/start_celery_flower.sh`, so the repository's `.env` (the
    local stack's) is not read; returns the process and its base URL."""
    scripts = workdir / "flower" / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    script = shutil.copy2(ROOT / "scripts" / "start_celery_flower.sh", scripts / "start_celery_flower.sh")
    port = free_port()
    flower_env = {**env, "FLOWER_PASSWORD": password, "FLOWER_PORT": str(port), "CELERY_BIN": str(BIN / "celery")}
    return spawn("flower", [str(script)], flower_env, workdir), f"http://127.0.0.1:{port}"


@dataclass
class Prometheus:
    """A running Prometheus and its HTTP API."""

    process: WorkerProcess
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; the result vector (or raises with Prometheus's error)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"query failed: {expr}\n{body}")
        if body["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": body["data"]["result"]}]
        return body["data"]["result"]

    def values(self, expr: str) -> dict[str, float]:
        """The query's samples keyed by their labels (as sorted `k=v` text)."""
        return {_key(sample["metric"]): float(sample["value"][1]) for sample in self.query(expr)}

    def wait_for(self, expr: str, check: Callable[[dict[str, float]], bool], timeout: float = 30.0) -> dict[str, float]:
        """Poll `expr` until `check(values)` holds; returns the values."""
        deadline = time.monotonic() + timeout
        values: dict[str, float] = {}
        while time.monotonic() < deadline:
            values = self.values(expr)
            if values and check(values):
                return values
            time.sleep(0.5)
        raise AssertionError(f"{expr} never satisfied the check; last values {values}")

    def get(self, path: str) -> Any:
        """GET an API path, returning its `data`."""
        return httpx.get(f"{self.url}{path}", timeout=10).json()["data"]


def _key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")


def finite(values: dict[str, float]) -> dict[str, float]:
    """Only the samples that are numbers (a ratio of zero rates is NaN)."""
    return {k: v for k, v in values.items() if not math.isnan(v) and not math.isinf(v)}


def start_prometheus(workdir: Path, jobs: dict[str, list[str]], flower: tuple[str, str, str]) -> Prometheus:
    """Prometheus scraping `jobs` (name → host:port targets) and Flower (target, user, password)
    every second, with Sequoia's rules, its own data directory and port."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed"
    password_file = workdir / "flower-password"
    password_file.write_text(flower[2])
    scrape = [{"job_name": job, "static_configs": [{"targets": targets}]} for job, targets in jobs.items()]
    for job in scrape:
        if job["job_name"] in SLOW_JOBS:
            # These collect across processes (the workers' files) or wait for a Celery broadcast;
            # on a busy 2-core machine that can take most of a second.
            job.update(scrape_interval="2s", scrape_timeout="2s")
    scrape.append({"job_name": "flower", "basic_auth": {"username": flower[1], "password_file": str(password_file)},
                   "static_configs": [{"targets": [flower[0]]}]})
    config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(RULES)], "scrape_configs": scrape}
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    port = free_port()
    command = [binary, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'prometheus-data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", "--log.level=warn"]
    process = spawn("prometheus", command, {}, workdir)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/-/ready", process)
    return Prometheus(process, url)
