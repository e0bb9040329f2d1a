"""The whole system on disposable servers: Redis, Postgres, SeaweedFS, the API as a uvicorn process,
a thumbnails worker and a media worker with beat. Every piece can be killed and started again."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from sequoia_core.db.migrate import apply_migrations
from sequoia_core.settings import Settings
from tests.faults.infra import PostgresServer, RedisServer, S3Server, free_port, kill_group, wait_until
from tests.support import services
from tests.support.services import TEST_TOKEN, WorkerProcess

ROOT = Path(__file__).resolve().parents[2]

# Every recovery setting keeps its production default (time limit 1800 s, sweeper deadline, visibility
# timeout, sweep interval, heartbeats, retries, relay): recovery must be fast with what users run.
# Only sizes are set: the render memory limit fits every normal file of the mix, and the GIF bomb
# needs several times more.
FAULT_SETTINGS = {
    "RENDER_MEMORY_LIMIT_MB": "192",
    "METRICS_PORT": "0",
    "QUEUE_METRICS_PORT": "0",
    "LOG_LEVEL": "info",
}


@dataclass
class ApiServer:
    """`uvicorn --factory sequoia_api.main:create_app` on a spare port."""

    env: dict[str, str]
    workdir: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start and wait until `/healthz` answers."""
        self.port = self.port or free_port()
        command = [str(Path(sys.executable).with_name("uvicorn")), "--factory", "sequoia_api.main:create_app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=self.workdir, env={**os.environ, **self.env},
                                        stdout=(self.workdir / "api.log").open("ab"), stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(self._healthy, 60, "the API")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the API exited: {(self.workdir / 'api.log').read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: whatever the API was doing stops between two instructions."""
        if self.process is not None:
            kill_group(self.process)
            self.process.wait(10)

    def client(self) -> httpx.Client:
        """An authenticated client with a long timeout (a 100-file upload takes a while)."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=120)


@dataclass
class Stack:
    """Every process of the system under test, and how to reach its data."""

    workdir: Path
    redis: RedisServer
    postgres: PostgresServer
    s3: S3Server
    env: dict[str, str]
    settings: Settings
    api: ApiServer
    thumbs: WorkerProcess | None = None
    media: WorkerProcess | None = None
    started: list[WorkerProcess] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        """The system's database."""
        return self.env["DATABASE_URL"]

    def connect(self) -> psycopg.Connection:
        """A fresh autocommit connection for the harness's reads (Postgres may have restarted)."""
        return psycopg.connect(self.database_url, autocommit=True, connect_timeout=3)

    def start_thumbs(self, concurrency: int = 2, **env: str) -> WorkerProcess:
        """Start a thumbnails worker (prefork), with `env` over the stack's, and wait for its ping."""
        self.thumbs = services.start_worker({**self.env, **env}, "sequoia_thumbnails.worker", "thumbnails",
                                            "thumbs", self.workdir, concurrency=concurrency)
        self.started.append(self.thumbs)
        services.wait_for_ping(self.settings, self.thumbs)
        return self.thumbs

    def start_media(self) -> WorkerProcess:
        """Start the media worker with embedded beat (relay and sweeper) and wait for its ping."""
        schedule = self.workdir / f"beat-{secrets.token_hex(3)}"
        self.media = services.start_worker(self.env, "sequoia_media.worker", "media,default", "media",
                                           self.workdir, extra_args=("-B", "--schedule", str(schedule)))
        self.started.append(self.media)
        services.wait_for_ping(self.settings, self.media)
        return self.media

    def kill_worker(self, worker: WorkerProcess) -> None:
        """SIGKILL the worker's main process and its pool children at once."""
        kill_group(worker.process)
        worker.process.wait(10)

    def stop(self) -> None:
        """Stop every process this stack started."""
        for worker in self.started:
            services.stop_worker(worker, timeout=10)
        self.api.kill()


@contextmanager
def running_stack(workdir: Path) -> Iterator[Stack]:
    """Start every server and process; stop them all afterwards, whatever happened."""
    with ExitStack() as cleanup:
        redis = RedisServer(workdir)
        redis.start()
        cleanup.callback(redis.kill)
        postgres = PostgresServer()
        postgres.init()
        cleanup.callback(postgres.destroy)
        database_url = postgres.create_database()
        apply_migrations(database_url, ROOT / "migrations")
        s3 = S3Server(workdir, "faults-" + secrets.token_hex(4), secrets.token_urlsafe(24))
        s3.up()
        cleanup.callback(s3.down)
        target = services.S3Target(s3.endpoint_url, s3.access_key, s3.secret_key, "sequoia-faults")
        env = services.service_env(database_url, redis.url, target, **FAULT_SETTINGS)
        stack = Stack(workdir, redis, postgres, s3, env, services.settings_from(env), ApiServer(env, workdir))
        cleanup.callback(stack.stop)
        stack.api.start()
        stack.start_media()
        stack.start_thumbs()
        yield stack
