"""A whole Sequoia stack of real processes, scraped by a real Prometheus every second.

Own Redis db (12; the integration tests use 15, other suites 13 and 14), own database, bucket and
ports: the counts the tests assert are exact, so no other test run may feed or drain these queues.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sequoia_core.settings import Settings
from tests.monitoring import support
from tests.monitoring.support import Prometheus
from tests.support import services
from tests.support.services import TEST_TOKEN, WorkerProcess
from tests.support.tools import require_binary

REDIS_DB = int(os.environ.get("MONITORING_TEST_REDIS_DB", "12"))


def monitoring_redis_url() -> str:
    """Db REDIS_DB of REDIS_URL's server (default this machine's)."""
    return services.redis_db_url(REDIS_DB)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("monitoring")


@dataclass
class Stack:
    """Everything the end-to-end monitoring test talks to."""

    env: dict[str, str]
    settings: Settings
    api_url: str
    broken_api_url: str
    flower_url: str
    flower_auth: tuple[str, str]
    thumbnails: WorkerProcess
    prometheus: Prometheus

    @property
    def headers(self) -> dict[str, str]:
        """A valid bearer token for the API."""
        return {"Authorization": f"Bearer {TEST_TOKEN}"}


def _stop_all(processes: list[WorkerProcess]) -> None:
    """Ask every process to stop at once, then wait for (or kill) each: the shutdowns overlap."""
    for process in processes:
        if process.alive():
            os.killpg(process.process.pid, signal.SIGTERM)
    for process in reversed(processes):
        services.stop_worker(process)


def _start_services(env: dict[str, str], workdir: Path, ports: dict[str, int], password: str,
                    processes: list[WorkerProcess]) -> tuple[dict[str, str], WorkerProcess]:
    """Start the API (and a replica whose S3 is unreachable, for real 503s), a thumbnails worker
    whose 2 children are replaced every 3 tasks, a media worker with beat, and Flower; wait until
    they answer. Returns their base URLs and the thumbnails worker; `processes` collects them all
    for the teardown."""
    api, api_url = services.start_api(env, workdir)
    processes.append(api)
    broken_env = {**env, "S3_ENDPOINT_URL": f"http://127.0.0.1:{support.free_port()}"}
    broken, broken_url = services.start_api(broken_env, workdir, name="api-broken")
    processes.append(broken)
    thumbnails = services.start_worker(
        {**env, "METRICS_PORT": str(ports["thumbnails"])}, "sequoia_thumbnails.worker", "thumbnails", "thumbs",
        workdir, concurrency=2, extra_args=("--max-tasks-per-child", "3"))
    processes.append(thumbnails)
    media = services.start_worker(
        {**env, "METRICS_PORT": str(ports["media"]), "QUEUE_METRICS_PORT": str(ports["queues"])},
        "sequoia_media.worker", "media,default", "media", workdir,
        extra_args=("-B", "--schedule", str(workdir / "beat-schedule")))
    processes.append(media)
    flower, flower_url = support.start_flower(env, workdir, password)
    processes.append(flower)
    services.wait_http(f"{api_url}/readyz", api)
    services.wait_http(f"{broken_url}/healthz", broken)
    settings = services.settings_from(env)
    for worker in (thumbnails, media):
        services.wait_for_ping(settings, worker)
    services.wait_http(f"{flower_url}/healthcheck", flower)
    return {"api": api_url, "broken": broken_url, "flower": flower_url}, thumbnails


def _scrape_jobs(urls: dict[str, str], ports: dict[str, int]) -> dict[str, list[str]]:
    def target(url: str) -> str:
        return url.removeprefix("http://")

    return {
        "sequoia-api": [target(urls["api"]), target(urls["broken"])],
        "sequoia-worker": [f"127.0.0.1:{ports['thumbnails']}", f"127.0.0.1:{ports['media']}"],
        "sequoia-queues": [f"127.0.0.1:{ports['queues']}"],
    }


@pytest.fixture(scope="module")
def stack(workdir: Path) -> Iterator[Stack]:
    """Every Sequoia process, and Prometheus scraping them all."""
    require_binary("prometheus", "prometheus")
    redis_url = monitoring_redis_url()
    services.purge_queues(redis_url)
    ports = {name: support.free_port() for name in ("thumbnails", "media", "queues")}
    password = secrets.token_urlsafe(12)
    processes: list[WorkerProcess] = []
    with services.fresh_database() as database_url, services.s3_target(workdir) as s3:
        env = services.service_env(database_url, redis_url, s3, METRICS_ADDRESS="127.0.0.1",
                                   METRICS_INSPECT_TIMEOUT_SECONDS="0.4")
        try:
            urls, thumbnails = _start_services(env, workdir, ports, password, processes)
            flower_target = (urls["flower"].removeprefix("http://"), "admin", password)
            prometheus = support.start_prometheus(workdir, _scrape_jobs(urls, ports), flower_target)
            processes.append(prometheus.process)
            yield Stack(env=env, settings=services.settings_from(env), api_url=urls["api"],
                        broken_api_url=urls["broken"], flower_url=urls["flower"], flower_auth=("admin", password),
                        thumbnails=thumbnails, prometheus=prometheus)
        finally:
            _stop_all(processes)
            services.purge_queues(redis_url)
