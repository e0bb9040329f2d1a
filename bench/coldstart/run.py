"""`make bench-coldstart`: how long a thumbnails worker takes from `podman run` to its first task.

KEDA starts workers from zero when work arrives, so a user's first item waits for the image pull and
the worker's start. With one task already queued, each run starts the worker image as the cluster
runs it (non-root, read-only root, no capabilities, host network) and measures, from just before
`podman run`:
- ready: the worker's `ready.` log line (podman's timestamp of that line);
- taken: the task left the queue (the worker fetched it), Redis polled every 10 ms.
Printed: the median and the slowest of `--runs` runs, the image's size and its gzip-compressed layers
(what a node pulls), and the modules that take longest to import in the image (`python -X importtime`).
`--reference` runs another image (an older build) in turn with the first, for a comparison in one run.

    python -m bench.coldstart.run [--image IMAGE] [--reference IMAGE] [--build] [--runs 5]
    (the image is built when missing)

REDIS_URL names the Redis (db 10 is used), DATABASE_URL the Postgres server (a fresh database).
"""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import redis

from sequoia_core import broker
from sequoia_core.celery_app import create_celery_app
from sequoia_core.queues import QueueName
from sequoia_core.tasks import GENERATE_DERIVATIVES
from tests.containers import podman
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_IMAGE = "localhost/sequoia-worker-thumbnails:bench"
READY = "ready."


def ensure_image(image: str, rebuild: bool = False) -> str:
    """`image`, built from docker/worker-thumbnails.Dockerfile on the local Debian base when it is
    missing (or `rebuild`)."""
    if rebuild or podman.podman("image", "exists", image, check=False).returncode:
        podman.build_file(ROOT / "docker" / "worker-thumbnails.Dockerfile", image, context=ROOT)
    return image


def pull_bytes(image: str) -> int:
    """Bytes a node pulls: the image's layers, gzip-compressed as a registry serves them."""
    with tempfile.TemporaryDirectory() as tmp:
        podman.podman("push", "--compress", "--compression-format", "gzip", image, f"oci:{tmp}/image",
                      timeout=900)
        return sum(path.stat().st_size for path in Path(tmp, "image", "blobs").rglob("*") if path.is_file())


def one_run(image: str, env: dict[str, str], client: redis.Redis) -> tuple[float, float]:
    """Seconds from `podman run` to the ready line and to the task taken."""
    app = create_celery_app(services.settings_from(env))
    app.send_task(GENERATE_DERIVATIVES, args=[str(uuid.uuid4())], queue=QueueName.THUMBNAILS.value)
    start_wall = datetime.datetime.now(datetime.timezone.utc)
    start = time.monotonic()
    container = podman.run(image, f"sequoia-coldstart-{secrets.token_hex(3)}", env)
    try:
        while broker.queue_depths(client)[QueueName.THUMBNAILS.value]:
            if time.monotonic() - start > 120:
                raise RuntimeError(f"no task taken in 120 s:\n{container.logs()[-3000:]}")
            time.sleep(0.01)
        taken = time.monotonic() - start
        return _ready_after(container, start_wall), taken
    finally:
        container.remove()


def _ready_after(container: podman.Container, start: datetime.datetime) -> float:
    lines = podman.podman("logs", "--timestamps", container.name, check=False)
    for line in (lines.stdout + lines.stderr).splitlines():
        if READY in line:
            stamp = datetime.datetime.fromisoformat(line.split()[0][:26].rstrip("Z") + "+00:00")
            return (stamp - start).total_seconds()
    return float("nan")


def import_times(image: str, env: dict[str, str], top: int = 12) -> list[tuple[float, str]]:
    """Cumulative import time (s) of the slowest imports the worker module makes (two levels deep),
    in the image."""
    done = podman.run(image, f"sequoia-coldstart-imports-{secrets.token_hex(3)}", env,
                      ["python", "-X", "importtime", "-c", "import sequoia_thumbnails.worker"], detach=False)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if 1 <= depth <= 2:  # what the worker module imports, and what those import
            rows.append((int(cumulative) / 1e6, "  " * (depth - 1) + name.strip()))
    return sorted(rows, reverse=True)[:top]


def report(image: str, runs: list[tuple[float, float]]) -> None:
    """Size, pull size and the start figures of `image`."""
    ready, taken = zip(*runs)
    size = podman.image_size(image)
    print(f"image {image}: {size / 1000**2:.0f} MB, {pull_bytes(image) / 1000**2:.0f} MB to pull (gzip)")
    print(f"  podman run -> ready: median {statistics.median(ready):.2f} s (max {max(ready):.2f} s); "
          f"-> first task taken: median {statistics.median(taken):.2f} s (max {max(taken):.2f} s), "
          f"{len(runs)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--reference", help="another image (an older build) run in turn with --image")
    parser.add_argument("--build", action="store_true", help="build the image first (else it must exist)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    images = [ensure_image(args.image, args.build), *([args.reference] if args.reference else [])]
    redis_url = services.redis_db_url(10)
    client = redis.Redis.from_url(redis_url)
    with services.fresh_database() as database_url, tempfile.TemporaryDirectory() as tmp, \
            services.s3_target(Path(tmp)) as s3:
        env = {**services.service_env(database_url, redis_url, s3), "WORKER_CONCURRENCY": "1",
               "LOG_LEVEL": "info"}
        env.pop("MIGRATIONS_DIR")
        services.purge_queues(redis_url)
        runs: dict[str, list[tuple[float, float]]] = {image: [] for image in images}
        for _ in range(args.runs):  # in turn, so the machine's load weighs on each image alike
            for image in images:
                runs[image].append(one_run(image, env, client))
        imports = import_times(args.image, env)
    for image in images:
        report(image, runs[image])
    print(f"slowest imports of sequoia_thumbnails.worker in {args.image} (cumulative s):")
    for seconds, name in imports:
        print(f"  {seconds:6.3f}  {name}")
    reference = f" --reference {args.reference}" if args.reference else ""
    print(f"command: python -m bench.coldstart.run --image {args.image}{reference} --runs {args.runs} "
          f"(REDIS_URL={os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0')})")


if __name__ == "__main__":
    main()
