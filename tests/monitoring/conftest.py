"""A whole Sequoia stack of real processes, scraped by a real Prometheus every second.

Own Redis db (12; the integration tests use 15, other suites 13 and 14), own database, bucket and
ports: the counts the tests assert are exact, so no other test run may feed or drain these queues.
"""

from __future__ import annotations

import os
import secrets
import signal
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.connection import parse_url

from sequoia_core.settings import Settings
from tests.monitoring import support
from tests.monitoring.support import Prometheus
from tests.support import services
from tests.support.services import TEST_TOKEN, WorkerProcess

REDIS_DB = int(os.environ.get("MONITORING_TEST_REDIS_DB", "12"))


def monitoring_redis_url() -> str:
    """Db REDIS_DB of REDIS_URL's server (default this machine's)."""
    parts = parse_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    auth = f":{parts['password']}@" if parts.get("password") else ""
    return f"redis://{auth}{parts.get('host', '127.0.0.1')}:{parts.get('port', 6379)}/{REDIS_DB}"


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
    processes: list[WorkerProcess] = field(default_factory=list)

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


@pytest.fixture(scope="module")
def stack(workdir: Path) -> Iterator[Stack]:
    """API (and a replica whose S3 is unreachable), a thumbnails worker (2 children, each replaced
    after 3 tasks), a media worker with beat, Flower, and Prometheus scraping them all."""
    if not shutil.which("prometheus"):
        pytest.skip("Prometheus is not installed (Debian package `prometheus`, listed in .ci/apt-packages)")
    redis_url = monitoring_redis_url()
    services.purge_queues(redis_url)
    ports = {name: support.free_port() for name in ("thumbnails", "media", "queues")}
    password = secrets.token_urlsafe(12)
    processes: list[WorkerProcess] = []
    with services.fresh_database() as database_url, services.s3_target(workdir) as s3:
        env = services.service_env(database_url, redis_url, s3, METRICS_ADDRESS="127.0.0.1",
                                   METRICS_INSPECT_TIMEOUT_SECONDS="0.4")
        settings = services.settings_from(env)
        try:
            api, api_url = support.start_api(env, workdir)
            broken, broken_url = support.start_api(
                {**env, "S3_ENDPOINT_URL": f"http://127.0.0.1:{support.free_port()}"}, workdir, name="api-broken")
            thumbnails = services.start_worker(
                {**env, "METRICS_PORT": str(ports["thumbnails"])}, "sequoia_thumbnails.worker", "thumbnails",
                "thumbs", workdir, concurrency=2, extra_args=("--max-tasks-per-child", "3"))
            media = services.start_worker(
                {**env, "METRICS_PORT": str(ports["media"]), "QUEUE_METRICS_PORT": str(ports["queues"])},
                "sequoia_media.worker", "media,default", "media", workdir,
                extra_args=("-B", "--schedule", str(workdir / "beat-schedule")))
            flower, flower_url = support.start_flower(env, workdir, password)
            processes += [api, broken, thumbnails, media, flower]
            support.wait_http(f"{api_url}/readyz", api)
            support.wait_http(f"{broken_url}/healthz", broken)
            for worker in (thumbnails, media):
                services.wait_for_ping(settings, worker)
            support.wait_http(f"{flower_url}/healthcheck", flower)
            host = "127.0.0.1"
            jobs = {
                "sequoia-api": [api_url.removeprefix("http://"), broken_url.removeprefix("http://")],
                "sequoia-worker": [f"{host}:{ports['thumbnails']}", f"{host}:{ports['media']}"],
                "sequoia-queues": [f"{host}:{ports['queues']}"],
            }
            prometheus = support.start_prometheus(workdir, jobs, (flower_url.removeprefix("http://"), "admin", password))
            processes.append(prometheus.process)
            yield Stack(env=env, settings=settings, api_url=api_url, broken_api_url=broken_url,
                        flower_url=flower_url, flower_auth=("admin", password), thumbnails=thumbnails,
                        prometheus=prometheus, processes=processes)
        finally:
            _stop_all(processes)
            services.purge_queues(redis_url)
