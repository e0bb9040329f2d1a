"""What one item costs the system, per media kind, measured through the real services: the API
(in this process), a thumbnails and a media Celery worker, Redis, Postgres and SeaweedFS S3.

For each kind, a batch of N files goes through `POST /api/voyages/{v}/media` and is waited on until
every item is final; then it reports per item: the engine's own CPU on the same file (in-process,
as `sequoia-render`), the API's CPU for the upload, the workers' CPU (the Celery processes and
their render children), bytes into S3 (original and derivatives), Redis commands (INFO
commandstats; the workers' idle chatter over the same time is measured apart and taken off) and
Postgres row writes (pg_stat_user_tables, read once the backends flushed them).

    REDIS_URL=redis://127.0.0.1:PORT/0 python -m bench.capacity.per_item [--items 10]

It uses db 14 of REDIS_URL's server and resets that server's command statistics: use a Redis of
your own. docs/capacity.md turns the figures into replicas and Redis/Postgres sizing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import boto3
import psycopg
import redis
from fastapi.testclient import TestClient
from redis.connection import parse_url

from bench.engines.corpus import PHOTOS
from sequoia_api.main import create_app
from sequoia_core.storage import Storage
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import conformance
from tests.factories import jpeg_bytes
from tests.support import services
from tests.support.services import TEST_TOKEN

_TICKS = os.sysconf("SC_CLK_TCK")
# Row versions written (reads, including this script's own polling, leave these alone).
_PG_WRITES = "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"


def _inputs(folder: Path) -> dict[str, tuple[str, bytes]]:
    """One file per kind: a 12 MP photo (Debian's mate-backgrounds), a 10-page PDF, a 4-second MP4
    with sound, a mono MP3; and a small 2 MP JPEG."""
    from PIL import Image

    photo = folder / "photo.jpg"
    Image.open(PHOTOS[0]).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS).save(photo, quality=90)
    files = {"image": photo, "pdf": conformance.ten_page_pdf(folder), "video": conformance.plain_mp4(folder),
             "audio": conformance.mono_mp3(folder)}
    return {kind: (path.name, path.read_bytes()) for kind, path in files.items()} | \
        {"image_small": ("small.jpg", jpeg_bytes())}


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its live descendants (the Celery pool, the render server,
    its jobs), each with the children it waited for; a live process is never in its parent's count."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), sum(int(value) for value in fields[11:15]) / _TICKS)
    children: dict[int, list[int]] = {}
    for process, (parent, _) in stats.items():
        children.setdefault(parent, []).append(process)
    pending, total = [pid], 0.0
    while pending:
        process = pending.pop()
        total += stats.get(process, (0, 0.0))[1]
        pending += children.get(process, [])
    return total


def _redis_calls(client: redis.Redis) -> int:
    return sum(stats["calls"] for stats in client.info("commandstats").values())


def _pg(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(_PG_WRITES).fetchone()[0]


def _settled_pg(url: str) -> int:
    """Postgres counters once every backend flushed its statistics (idle ones do within ~10 s)."""
    last, stable_since = _pg(url), time.monotonic()
    while time.monotonic() - stable_since < 12:
        time.sleep(1)
        now = _pg(url)
        if now != last:
            last, stable_since = now, time.monotonic()
    return last


def _bare_render_cpu(name: str, data: bytes) -> float:
    """Median CPU seconds of the engine alone on the file (in-process, as `sequoia-render`): the
    part of an item's cost that is rendering, the rest being ours (API, Celery, S3 clients, fork)."""
    with tempfile.TemporaryDirectory(prefix="sequoia-render-") as tmp:
        source = Path(tmp) / name
        source.write_bytes(data)
        engine = Engine(RenderSpec(), isolate=False)
        engine.render(source, Path(tmp) / "warm", name)
        times = []
        for run in range(5):
            started = time.process_time() + _children_cpu()
            engine.render(source, Path(tmp) / str(run), name)
            times.append(time.process_time() + _children_cpu() - started)
    return statistics.median(times)


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _row_widths(url: str) -> dict[str, float]:
    """Average stored width of the real rows the batches left (heap only; indexes come on top)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {table: round(float(conn.execute(f"SELECT avg(pg_column_size(t.*)) FROM {table} t").fetchone()[0]), 1)
                for table in ("media", "task_outbox", "async_task_batches")}


def _s3_bytes(s3: services.S3Target) -> int:
    client = boto3.client("s3", endpoint_url=s3.endpoint_url, aws_access_key_id=s3.access_key,
                          aws_secret_access_key=s3.secret_key, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return sum(obj["Size"] for page in pages for obj in page.get("Contents", []))


def measure(items: int) -> dict[str, dict[str, float]]:
    """Per-item figures for each kind, through real services."""
    base = parse_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    redis_url = f"redis://{base.get('host', '127.0.0.1')}:{base.get('port', 6379)}/14"
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sequoia-capacity-") as tmp, services.fresh_database() as db, \
            services.s3_target(Path(tmp)) as s3:
        env = services.service_env(db, redis_url, s3, RENDER_TIME_LIMIT_SECONDS="300", RENDER_MEMORY_LIMIT_MB="2048")
        settings = services.settings_from(env)
        storage = Storage(settings)
        storage.ensure_bucket()
        workers = [services.start_worker(env, "sequoia_thumbnails.worker", "thumbnails", "thumbs", Path(tmp)),
                   services.start_worker(env, "sequoia_media.worker", "media,default", "media", Path(tmp))]
        client = redis.Redis.from_url(redis_url)
        try:
            for worker in workers:
                services.wait_for_ping(settings, worker)
            inputs = _inputs(Path(tmp))
            with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as api:
                for kind, (name, data) in inputs.items():
                    results[kind] = _one_kind(api, client, db, s3, workers, kind, name, data, items)
                    print(f"  {kind:<12} " + "  ".join(f"{k} {v:,.3f}" for k, v in results[kind].items()), flush=True)
            print(f"  row widths, bytes (pg_column_size): {_row_widths(db)}")
        finally:
            for worker in workers:
                services.stop_worker(worker)
            client.close()
    return results


def _one_kind(api, client, db, s3, workers, kind, name, data, items) -> dict[str, float]:
    voyage = f"capacity-{kind.replace('_', '-')}-{os.urandom(2).hex()}"
    pg_before, s3_before = _settled_pg(db), _s3_bytes(s3)
    client.config_resetstat()
    cpu_before = sum(_tree_cpu(w.process.pid) for w in workers)
    started, api_cpu = time.monotonic(), time.process_time()
    response = api.post(f"/api/voyages/{voyage}/media", files=[("files", (f"{i}-{name}", data)) for i in range(items)])
    api_cpu = time.process_time() - api_cpu
    response.raise_for_status()
    ids = [item["media_id"] for item in response.json()["files"]]
    for media_id in ids:
        body = services.wait_until_final(lambda path: api.get(path).json(), media_id, 300, 0.2)
        assert body["status"] == "completed", body
    busy = time.monotonic() - started
    worker_cpu = sum(_tree_cpu(w.process.pid) for w in workers) - cpu_before
    calls = _redis_calls(client)
    idle_started = time.monotonic()
    pg_after = _settled_pg(db)  # also the idle window: no item is in flight
    idle_rate = (_redis_calls(client) - calls) / (time.monotonic() - idle_started)
    return {
        "render_cpu_s": _bare_render_cpu(name, data),
        "api_cpu_s": api_cpu / items,
        "worker_cpu_s": worker_cpu / items,
        "s3_bytes_in": (_s3_bytes(s3) - s3_before) / items,
        "redis_commands": max(0.0, calls - idle_rate * busy) / items,
        "pg_row_writes": (pg_after - pg_before) / items,
        "seconds": busy,
    }


def main() -> int:
    """Measure and print per-item costs by kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10)
    args = parser.parse_args()
    print(f"capacity: {args.items} items per kind through the real services (load {os.getloadavg()[0]:.1f})")
    measure(args.items)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
