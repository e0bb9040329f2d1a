"""Real services for tests: a fresh database, a Redis db, an S3 bucket (SeaweedFS when no S3 is
given) and real Celery worker processes."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis
from kombu.exceptions import OperationalError
from redis.connection import parse_url

from scripts.devstack import seaweed
from sequoia_core import broker
from sequoia_core.celery_app import create_celery_app
from sequoia_core.lifecycle import FINAL_STATES
from sequoia_core.db.migrate import apply_migrations, ensure_database
from sequoia_core.queues import QueueName
from sequoia_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEST_TOKEN = "test-token-" + secrets.token_hex(8)


def redis_db_url(db: int) -> str:
    """Db `db` of REDIS_URL's server (default this machine's). Each suite owns one db, so no other
    suite's workers take its tasks: stack 0, integration 15, chart 14, containers 13, monitoring 12, fuzz 11,
    priority 10, recipes 9, retry publish 8."""
    parts = parse_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    auth = f":{parts['password']}@" if parts.get("password") else ""
    return f"redis://{auth}{parts.get('host', '127.0.0.1')}:{parts.get('port', 6379)}/{db}"


def _with_dbname(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, migrated database on the server of DATABASE_URL (default: this machine's), dropped after."""
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = _with_dbname(base, f"sequoia_test_{secrets.token_hex(4)}")
    ensure_database(url)
    apply_migrations(url, ROOT / "migrations")
    try:
        yield url
    finally:
        admin = _with_dbname(base, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class S3Target:
    """An S3 endpoint, its credentials, and the bucket the tests own."""

    endpoint_url: str
    access_key: str
    secret_key: str
    bucket: str


@contextmanager
def s3_target(tmp_dir: Path) -> Iterator[S3Target]:
    """S3_ENDPOINT_URL (with AWS_* credentials) when set; else a SeaweedFS of our own."""
    bucket = f"sequoia-test-{secrets.token_hex(4)}"
    if os.environ.get("S3_ENDPOINT_URL"):
        yield S3Target(os.environ["S3_ENDPOINT_URL"], os.environ.get("AWS_ACCESS_KEY_ID", ""),
                       os.environ.get("AWS_SECRET_ACCESS_KEY", ""), bucket)
        return
    gateway = seaweed.start(tmp_dir / "seaweedfs", "test-" + secrets.token_hex(4), secrets.token_urlsafe(24))
    try:
        gateway.wait_ready()
        yield S3Target(gateway.endpoint_url, gateway.access_key, gateway.secret_key, bucket)
    finally:
        seaweed.stop(gateway.process)


def service_env(database_url: str, redis_url: str, s3: S3Target, **extra: str) -> dict[str, str]:
    """The environment every Sequoia process of a test run gets."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "S3_ENDPOINT_URL": s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "S3_BUCKET": s3.bucket,
        "S3_CREATE_BUCKET": "true",
        "SEQUOIA_API_TOKEN": TEST_TOKEN,
        "GALLERY_LINK_SECRET": secrets.token_urlsafe(32),
        "MIGRATIONS_DIR": str(ROOT / "migrations"),
        # Tight render limits, so the hostile-corpus tests see a timeout or an out-of-memory in seconds.
        "RENDER_TIME_LIMIT_SECONDS": "20",
        "RENDER_MEMORY_LIMIT_MB": "256",
        # No metrics port unless a test asks for one: 9100/9101 belong to the local stack (and to
        # other suites running at the same time); a test that scrapes passes its own free port.
        "METRICS_PORT": "0",
        "QUEUE_METRICS_PORT": "0",
        **extra,
    }


def settings_from(env: dict[str, str]) -> Settings:
    """Settings exactly as a process started with `env` (and no .env file) would read them."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings(_env_file=None)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def purge_queues(redis_url: str) -> None:
    """Empty the test Redis db's queues, so a previous run's leftovers cannot reach this run."""
    client = redis.Redis.from_url(redis_url)
    broker_keys = {key for queue in QueueName for key in broker.queue_keys(queue.value)}
    broker_keys |= {broker.UNACKED, broker.UNACKED_INDEX}
    for key in client.scan_iter(match="*"):
        name = key.decode()
        if name in broker_keys or name.startswith(("_kombu", broker.UNACKED)):
            client.delete(key)
    client.close()


@dataclass
class WorkerProcess:
    """A real Celery worker run as a subprocess."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        """The worker's main process still runs."""
        return self.process.poll() is None

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(errors="replace")


def start_worker(env: dict[str, str], app: str, queues: str, name: str, workdir: Path,
                 concurrency: int = 1, extra_args: tuple[str, ...] = ()) -> WorkerProcess:
    """Start `celery worker` (prefork) in `workdir`, so no stray `.env` is read."""
    node = f"{name}-{secrets.token_hex(3)}"
    log_path = workdir / f"{node}.log"
    command = [str(BIN / "celery"), "-A", app, "worker", "-Q", queues, "-n", f"{node}@%h",
               "-c", str(concurrency), "--loglevel", "info", *extra_args]
    process = subprocess.Popen(command, cwd=workdir, env={**os.environ, **env}, stdout=log_path.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    return WorkerProcess(node, process, log_path)


def spawn(name: str, command: list[str], env: dict[str, str], workdir: Path) -> WorkerProcess:
    """Start a process in its own session in `workdir` (no stray `.env`), logging to a file."""
    log_path = workdir / f"{name}.log"
    process = subprocess.Popen(command, cwd=workdir, env={**os.environ, **env}, stdout=log_path.open("ab"),
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return WorkerProcess(name, process, log_path)


def wait_http(url: str, process: WorkerProcess, timeout: float = 60.0, ok: tuple[int, ...] = (200,),
              auth: tuple[str, str] | None = None) -> None:
    """Poll `url` until it answers one of `ok`; fail with the process's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-3000:]}")
        try:
            if httpx.get(url, timeout=2, auth=auth).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f}s:\n{process.log()[-3000:]}")


def wait_url(url: str, timeout: float) -> None:
    """Poll `url` until it answers 200: for a service in a container, with no process of ours to watch."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready after {timeout:.0f}s")
        time.sleep(1)


def start_api(env: dict[str, str], workdir: Path, name: str = "api") -> tuple[WorkerProcess, str]:
    """The real API under uvicorn on a free port; returns the process and its base URL."""
    port = seaweed.free_port()
    command = [str(BIN / "uvicorn"), "--factory", "sequoia_api.main:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--http", "sequoia_api.http_protocol:HttpToolsProtocol", "--log-level", "warning"]
    return spawn(name, command, env, workdir), f"http://127.0.0.1:{port}"


def wait_for_ping(settings: Settings, worker: WorkerProcess, timeout: float = 60.0) -> None:
    """Block until the worker answers a Celery ping."""
    app = create_celery_app(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.alive():
            raise RuntimeError(f"worker {worker.name} exited:\n{worker.log()[-3000:]}")
        try:
            replies = app.control.ping(timeout=0.5)
        except (redis.RedisError, OperationalError):  # a Redis just restarted (fault suite): ask again
            app = create_celery_app(settings)
            continue
        if any(worker.name in next(iter(reply)) for reply in replies):
            return
    raise TimeoutError(f"worker {worker.name} did not answer a ping:\n{worker.log()[-3000:]}")


@contextmanager
def running_worker(env: dict[str, str], app: str, queues: str, name: str, workdir: Path, settings: Settings,
                   **options) -> Iterator[WorkerProcess]:
    """A worker started, answering pings, and stopped on the way out (`options` as `start_worker`'s)."""
    worker = start_worker(env, app, queues, name, workdir, **options)
    try:
        wait_for_ping(settings, worker)
        yield worker
    finally:
        stop_worker(worker)


def stop_worker(worker: WorkerProcess, timeout: float = 20.0) -> None:
    """Warm shutdown, then kill the whole process group if it lingers."""
    if worker.alive():
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            worker.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(worker.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.process.wait(5)


def wait_until_final(get_json: Callable[[str], dict], media_id: str, timeout: float, interval: float,
                     workers: tuple[WorkerProcess, ...] = ()) -> dict:
    """Poll `GET /api/media/{id}` through `get_json` until the item is final; return its body. A dead
    worker among `workers` fails at once with its log, instead of after the whole timeout."""
    deadline = time.monotonic() + timeout
    while True:
        for worker in workers:
            if not worker.alive():
                raise AssertionError(f"worker {worker.name} died (exit {worker.process.returncode}) while "
                                     f"{media_id} was not final; its log:\n{worker.log()[-4000:]}")
        body = get_json(f"/api/media/{media_id}")
        if body["status"] in FINAL_STATES:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"media {media_id} still {body['status']} after {timeout}s")
        time.sleep(interval)


@dataclass
class ApiProcess:
    """The API as a real uvicorn process."""

    url: str
    process: subprocess.Popen

    def rss_bytes(self) -> int:
        """The process's resident memory now, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for pid {self.process.pid}")


@contextmanager
def running_api(env: dict[str, str], workdir: Path, name: str = "uvicorn", **extra_env: str) -> Iterator[ApiProcess]:
    """The real API with `env` (and `extra_env`) under uvicorn, once `/readyz` answers 200, until the
    block ends."""
    process, url = start_api({**env, **extra_env}, workdir, name)
    try:
        wait_http(f"{url}/readyz", process, timeout=30)
        yield ApiProcess(url, process.process)
    finally:
        stop_worker(process)
