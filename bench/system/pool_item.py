"""A pool process's own CPU per item, by part: the `generate` task run in this process (Celery's
eager tracer, the metrics receivers connected, files in a multiprocess directory) on 12 MP photos,
against a fresh database, a SeaweedFS of its own and a warm render server. The render server and its
jobs are children, not counted: what is counted is what the worker's pool process spends around them.

    python -m bench.system.pool_item [--photos 16] [--rounds 3]

Parts are timed in this process's CPU clock around the functions the task calls; "Celery and the
rest" is the task's whole CPU less the parts. Round trips are the connection's `ReadyForQuery`
messages (libpq's trace). Run it with another tree's packages first on PYTHONPATH to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.system import corpus
from tests.support import services

_spent: dict[str, float] = defaultdict(float)


def _timed(part: str, function: Callable) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            _spent[part] += time.process_time() - started
    return wrapper


def _timed_context(part: str, function: Callable) -> Callable:
    @contextmanager
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.process_time()
        with function(*args, **kwargs) as value:
            _spent[part] += time.process_time() - started
            yield value
            started = time.process_time()
        _spent[part] += time.process_time() - started
    return wrapper


def _instrument(ctx: Any) -> None:
    from sequoia_core import task_metrics
    from sequoia_thumbnails import derivatives, engine, render_job, sandbox, workdirs

    derivatives.claim = _timed("claim transaction", derivatives.claim)
    derivatives.record_completed = _timed("completion transaction", derivatives.record_completed)
    workdirs.job_directory = _timed_context("scratch folder (make, remove)", workdirs.job_directory)
    engine.Engine.identify = _timed("type sniff", engine.Engine.identify)
    sandbox.run = _timed("sandbox client", sandbox.run)
    render_job.result_from_json = _timed("answer check", render_job.result_from_json)
    ctx.storage.download = _timed("S3 GET (original, to disk)", ctx.storage.download)
    ctx.storage.put_file = _timed("S3 PUTs (derivatives)", ctx.storage.put_file)
    task_metrics.TaskObserver.on_prerun = _timed("metrics receivers", task_metrics.TaskObserver.on_prerun)
    task_metrics.TaskObserver.on_postrun = _timed("metrics receivers", task_metrics.TaskObserver.on_postrun)


def _ingest(ctx: Any, files: list[Path], voyage: str) -> list[tuple[str, str]]:
    """Rows and originals as the API leaves them (queued, in one batch); (media id, task id) each."""
    from sequoia_core.db import batches, media
    from sequoia_core.db.pool import transaction
    from sequoia_core.storage import original_key

    batch = uuid.uuid4()
    items = []
    with transaction(ctx.pool) as conn:
        batches.insert_batch(conn, batch, voyage, len(files))
        for path in files:
            media_id, task_id = uuid.uuid4(), uuid.uuid4()
            key = original_key(voyage, media_id, "jpg")
            ctx.storage.put_file(key, path, "image/jpeg")
            media.insert_media(conn, media.NewMedia(
                id=media_id, voyage_slug=voyage, batch_id=batch, media_kind="image", media_format="jpg",
                original_filename=path.name, content_type="image/jpeg", size_bytes=path.stat().st_size,
                checksum_sha256=None, original_key=key, task_id=task_id, queue="thumbnails", priority="live"))
            media.mark_queued(conn, media_id, task_id)
            items.append((str(media_id), str(task_id)))
    return items


def _trace_round_trips(ctx: Any, trace: Path) -> Callable[[], int]:
    """libpq's protocol trace on every connection the pool hands out from now on; returns a function
    that counts the round trips (`ReadyForQuery`) traced since its last call."""
    out = trace.open("a")
    traced: list[Any] = []
    original = ctx.pool.getconn

    def getconn(*args: Any, **kwargs: Any) -> Any:
        conn = original(*args, **kwargs)
        if conn not in traced:
            conn.pgconn.trace(out.fileno())
            traced.append(conn)
        return conn

    def count() -> int:
        for conn in traced:  # untrace flushes libpq's buffer
            conn.pgconn.untrace()
        traced.clear()
        trips = trace.read_text().count("\tReadyForQuery")
        trace.write_bytes(b"")
        return trips
    ctx.pool.getconn = getconn
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp, services.fresh_database() as db, \
            services.s3_target(Path(tmp)) as s3:
        work = Path(tmp)
        os.environ.update(services.service_env(db, services.redis_db_url(10), s3, RENDER_TIME_LIMIT_SECONDS="300",
                                               RENDER_MEMORY_LIMIT_MB="2048"))
        from sequoia_core import multiprocess
        from sequoia_core.settings import get_settings
        from sequoia_core.task_metrics import TaskObserver
        from sequoia_thumbnails import sandbox
        from sequoia_thumbnails.context import worker_context
        from sequoia_thumbnails.metrics_server import TASK_SPEC
        from sequoia_thumbnails.tasks import generate
        from sequoia_thumbnails.worker import app  # noqa: F401 - the app the task binds to

        get_settings.cache_clear()
        multiprocess.use_file_values(work / "metrics")
        (work / "metrics").mkdir()
        ctx = worker_context()
        _instrument(ctx)
        TaskObserver(TASK_SPEC).connect()
        ctx.storage.ensure_bucket()
        files = corpus.make("image", args.photos + 1, work / "corpus")
        for media_id, task_id in _ingest(ctx, files[:1], "bench-warm"):
            generate.apply(args=(media_id,), task_id=task_id)
        trace = work / "pq.trace"
        round_trips = _trace_round_trips(ctx, trace)
        rows: list[dict[str, float]] = []
        for round_ in range(args.rounds):
            items = _ingest(ctx, files[1:], f"bench-{round_}")
            round_trips()
            _spent.clear()
            started = time.process_time()
            for media_id, task_id in items:
                outcome = generate.apply(args=(media_id,), task_id=task_id).get()
                assert outcome == "completed", outcome
            total = time.process_time() - started
            trips = round_trips()
            row = {part: spent / len(items) for part, spent in _spent.items()}
            row["Celery and the rest"] = (total - sum(_spent.values())) / len(items)
            row["total"] = total / len(items)
            row["round trips"] = trips / len(items)
            rows.append(row)
        sandbox.server().stop()
    print(f"pool process CPU per 12 MP photo, ms (median of {args.rounds} rounds of {args.photos}); "
          f"load {os.getloadavg()[0]:.1f}")
    for part in rows[0]:
        values = [row[part] for row in rows]
        scale = 1 if part == "round trips" else 1000
        print(f"  {part:<32}{statistics.median(values) * scale:>8.2f}   "
              + " ".join(f"{v * scale:.2f}" for v in values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
