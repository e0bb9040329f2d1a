"""The local stack: `python -m scripts.devstack.stack up|down|status`.

`up` starts, in the background, whatever is not already running: SeaweedFS S3 (unless
S3_ENDPOINT_URL points elsewhere), migrations, the API, one worker per service and Flower, then
waits for `/readyz` and both workers. `down` stops exactly what `up` started, by pid.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from dotenv import dotenv_values

from scripts.devstack import seaweed

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
RUN, LOGS = VAR / "run", VAR / "log"
ENV_FILE = ROOT / ".env"
LOCAL_S3 = "http://127.0.0.1:8333"
API_URL = "http://127.0.0.1:8000"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Service:
    """One background process of the stack."""

    name: str
    command: list[str]
    env: dict[str, str]


def write_env_file() -> None:
    """First run: a `.env` with fresh secrets (never a fixed default password)."""
    if ENV_FILE.exists():
        return
    lines = {
        "SEQUOIA_API_TOKEN": secrets.token_urlsafe(32),
        "GALLERY_LINK_SECRET": secrets.token_urlsafe(32),
        "FLOWER_USER": "admin",
        "FLOWER_PASSWORD": secrets.token_urlsafe(18),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/sequoia",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "S3_ENDPOINT_URL": LOCAL_S3,
        "S3_BUCKET": "sequoia-media",
        "S3_CREATE_BUCKET": "true",
        "AWS_ACCESS_KEY_ID": f"sequoia-{secrets.token_hex(6)}",
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "ASYNC_THUMBNAILS": "true",
    }
    ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    ENV_FILE.chmod(0o600)
    print(f"wrote {ENV_FILE.name} with a new API token and Flower password")


def effective_env() -> dict[str, str]:
    """`.env` overlaid by the process environment, as the services will see it."""
    values = {k: v for k, v in dotenv_values(ENV_FILE).items() if v is not None}
    return {**values, **os.environ}


def pid_file(name: str) -> Path:
    return RUN / f"{name}.pid"


def running_pid(name: str) -> int | None:
    """The pid of a service this stack started and that still runs."""
    path = pid_file(name)
    if not path.exists():
        return None
    pid = int(path.read_text().strip() or 0)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return None if state == "Z" else pid


def spawn(service: Service) -> None:
    """Start a service in its own session (so `down` can stop its whole process group)."""
    if running_pid(service.name):
        print(f"  {service.name:<18} already running")
        return
    log = (LOGS / f"{service.name}.log").open("ab")
    process = subprocess.Popen(
        service.command, cwd=ROOT, env={**os.environ, **service.env}, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    pid_file(service.name).write_text(str(process.pid))
    print(f"  {service.name:<18} started (pid {process.pid}, log var/log/{service.name}.log)")


def start_seaweed(env: dict[str, str]) -> None:
    if running_pid("seaweedfs"):
        print(f"  {'seaweedfs':<18} already running")
        return
    gateway = seaweed.start(VAR / "seaweedfs", env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                            s3_port=8333, log_path=LOGS / "seaweedfs.log")
    pid_file("seaweedfs").write_text(str(gateway.process.pid))
    print(f"  {'seaweedfs':<18} started (pid {gateway.process.pid}, S3 at {gateway.endpoint_url})")
    gateway.wait_ready()


def services() -> list[Service]:
    worker = str(ROOT / "scripts" / "start_celery_worker.sh")
    return [
        Service("api", [str(BIN / "uvicorn"), "--factory", "sequoia_api.main:create_app",
                        "--host", "127.0.0.1", "--port", "8000", "--http", "sequoia_api.http_protocol:HttpToolsProtocol"], {}),
        # Metrics (docs/monitoring.md): thumbnails worker :9100, beat's queue collector :9101, media worker :9102.
        Service("worker-thumbnails", [worker, "thumbnails-1", "info", "thumbnails"],
                {"METRICS_PORT": "9100", "METRICS_ADDRESS": "127.0.0.1"}),
        Service("worker-media", [worker, "media-1", "info", "media,default"],
                {"CELERY_BEAT": "1", "METRICS_PORT": "9102", "QUEUE_METRICS_PORT": "9101",
                 "METRICS_ADDRESS": "127.0.0.1"}),
        Service("flower", [str(ROOT / "scripts" / "start_celery_flower.sh")], {}),
    ]


def wait_until_ready(env: dict[str, str], timeout: float = 90.0) -> None:
    """Wait for `/readyz` to be green and both workers to answer a ping."""
    from sequoia_core.celery_app import create_celery_app
    from sequoia_core.settings import Settings

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{API_URL}/readyz", timeout=3).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        raise SystemExit(f"the API did not get ready in {timeout:.0f}s: see var/log/api.log")
    app = create_celery_app(Settings(_env_file=ENV_FILE))
    while time.monotonic() < deadline:
        names = {next(iter(reply)).split("@")[0] for reply in app.control.ping(timeout=1.0)}
        if {"thumbnails-1", "media-1"} <= names:
            print("stack ready: API http://127.0.0.1:8000/docs, Flower http://127.0.0.1:5555 (user and password in .env)")
            return
    raise SystemExit("workers did not answer a ping: see var/log/worker-*.log")


def up() -> None:
    """Start everything not yet running and wait until it is ready."""
    for directory in (RUN, LOGS):
        directory.mkdir(parents=True, exist_ok=True)
    write_env_file()
    env = effective_env()
    if env.get("S3_ENDPOINT_URL", LOCAL_S3) == LOCAL_S3:
        start_seaweed(env)
    subprocess.run([str(BIN / "sequoia-migrate"), "--create-database"], cwd=ROOT, check=True)
    for service in services():
        spawn(service)
    wait_until_ready(env)
    if env.get("S3_ENDPOINT_URL", LOCAL_S3) == LOCAL_S3:
        print(f"S3 room: {seaweed.room(VAR / 'seaweedfs')}")


def down() -> None:
    """Stop exactly the processes `up` started, whole process groups, and forget their pids."""
    names = [s.name for s in reversed(services())] + ["seaweedfs"]
    for name in names:
        pid = running_pid(name)
        if pid:
            _stop_group(name, pid)
        pid_file(name).unlink(missing_ok=True)


def _stop_group(name: str, pid: int, grace: float = 15.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and running_pid(name):
        time.sleep(0.2)
    if running_pid(name):
        os.killpg(pid, signal.SIGKILL)  # weed ignores SIGTERM at times
    _reap_group(pid)
    print(f"  {name:<18} stopped")


def _reap_group(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no process of the group is left (children of a killed leader linger briefly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def status() -> None:
    """Which services of the stack run."""
    for name in [s.name for s in services()] + ["seaweedfs"]:
        pid = running_pid(name)
        print(f"  {name:<18} {'running (pid %d)' % pid if pid else 'stopped'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    {"up": up, "down": down, "status": status}[parser.parse_args().command]()


if __name__ == "__main__":
    main()
