"""`make bench-system`: a batch of every media kind through a real local stack, against the bare render.

The stack is started here, on free ports, as `make up` runs it: SeaweedFS S3, a fresh Postgres
database, the API under uvicorn, a thumbnails worker (prefork, `WORKER_CONCURRENCY` 2, render
server sandbox), a media worker with beat, and Flower; Redis is REDIS_URL's server (db 10: use a
Redis of your own, its CPU is read from its process). Each kind's files (distinct, made at run time
from real sources: 12 MP photos, 10-page PDFs, 10 s 720p videos, 1-minute MP3s) are uploaded in
requests of `--per-request` files and waited on until final. Per kind it prints, per item: the bare
render's CPU (the engine in-process on the same files, as `sequoia-render` without its sandbox), the
CPU of our processes (API; thumbnails worker main, pool and render server with its jobs; media
worker and beat), of Flower, S3, Redis and our database's Postgres backends, items/s and p50/p95
from the upload request to the final state, and how busy the machine's cores and the worker's
pool slots were while the batch drained, and why the slots sat idle (`bench/system/slots.py`; each
item's timings in var/bench/system/<kind>-runs.csv).

    REDIS_URL=redis://127.0.0.1:PORT/0 python -m bench.system.run [--photos 24] [--prefetch 2] [--profile]

`--profile` runs py-spy on the API and the thumbnails worker (all its processes) during the batch
and leaves speedscope files and `top`-style summaries under var/bench/system/.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis

from bench.system import corpus
from bench.system.cpu import Snapshot, busy_fraction, machine_ticks
from bench.system.slots import Run, SlotTime, slot_time
from sequoia_core.settings import get_settings
from sequoia_thumbnails import sandbox
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.support import services
from tests.support.processes import wait_for
from tests.support.services import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench" / "system"
REDIS_DB = 10
CONCURRENCY = 2
_FINAL = "SELECT count(*) FROM media WHERE batch_id = ANY(%s) AND processing_status IN ('completed', 'failed', 'cancelled')"
# The item's first publish: `media.queued_at` stays NULL when the worker claimed it before the API
# could mark it queued; the outbox entry's mark is always written, right after the send.
_TIMINGS = """SELECT original_filename, processing_status, extract(epoch FROM started_at)::float8,
                     extract(epoch FROM completed_at)::float8, worker_pid,
                     (SELECT extract(epoch FROM min(published_at))::float8 FROM task_outbox WHERE media_id = media.id),
                     task_id
              FROM media WHERE batch_id = ANY(%s)"""
_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


@dataclass
class Stack:
    """The processes of the running stack, by role."""

    api: services.WorkerProcess
    api_url: str
    thumbnails: services.WorkerProcess
    media: services.WorkerProcess
    flower: services.WorkerProcess
    s3_pid: int
    redis_pid: int
    database_url: str

    def groups(self, snap: Snapshot, backends: set[int]) -> dict[str, set[int]]:
        """Each role's live pids in `snap`; the render servers (and their jobs) apart from the pool."""
        worker = snap.tree(self.thumbnails.process.pid)
        servers = snap.matching(worker, "sequoia_thumbnails.render_server")
        render = set().union(*(snap.tree(pid) for pid in servers)) if servers else set()
        return {
            "api": snap.tree(self.api.process.pid),
            "worker main": {self.thumbnails.process.pid},
            "pool": worker - render - {self.thumbnails.process.pid},
            "render": render,
            "media": snap.tree(self.media.process.pid),
            "flower": snap.tree(self.flower.process.pid),
            "s3": snap.tree(self.s3_pid),
            "redis": {self.redis_pid},
            "postgres": backends,
        }


@dataclass
class Reading:
    """CPU of every role and the machine's ticks at one moment."""

    cpu: dict[str, float]
    ticks: list[int]
    wall: float

    @classmethod
    def take(cls, stack: Stack) -> Reading:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            backends = {row[0] for row in conn.execute(_BACKENDS)}
        snap = Snapshot()
        return cls({role: snap.cpu(pids) for role, pids in stack.groups(snap, backends).items()},
                   machine_ticks(), time.time())


@dataclass
class KindResult:
    """What one kind's batch cost and how it flowed."""

    kind: str
    items: int
    bare: float  # CPU seconds per item of the engine alone, in-process
    sandboxed: float  # the same through the render server's forked jobs, as sequoia-render
    cpu: dict[str, float]  # CPU seconds per item by role
    items_per_s: float
    latencies: list[float]
    cores_busy: float
    slots: SlotTime
    failed: int

    @property
    def ours(self) -> float:
        return sum(self.cpu[role] for role in ("api", "worker main", "pool", "render", "media"))


def bare_render(files: list[Path], warm: Path, isolate: bool) -> float:
    """CPU seconds per file of the engine alone, ffmpeg included, after one warm-up render of another
    file of the kind: in this process (`isolate=False`), or as `sequoia-render` and the worker run
    it, in a job forked by the render server (this process, the server and its jobs counted)."""
    engine = Engine(RenderSpec.from_settings(get_settings()), isolate=isolate)
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        engine.render(warm, Path(tmp) / "warm", warm.name)
        before = Snapshot()
        for index, path in enumerate(files):
            engine.render(path, Path(tmp) / str(index), path.name)
        after = Snapshot()
        spent = after.cpu(after.tree(os.getpid())) - before.cpu(before.tree(os.getpid()))
        if isolate:
            sandbox.server().stop()
        return spent / len(files)


def _upload(client: httpx.Client, voyage: str, files: list[Path], per_request: int,
            sent: dict[str, float], batches: list[str], errors: list[Exception]) -> None:
    try:
        _send_all(client, voyage, files, per_request, sent, batches)
    except Exception as err:  # noqa: BLE001 - handed to the waiting loop, which raises it
        errors.append(err)


def _send_all(client: httpx.Client, voyage: str, files: list[Path], per_request: int,
              sent: dict[str, float], batches: list[str]) -> None:
    for start in range(0, len(files), per_request):
        chunk = files[start:start + per_request]
        began = time.time()
        for path in chunk:
            sent[path.name] = began
        response = client.post(f"/api/voyages/{voyage}/media",
                               files=[("files", (path.name, path.read_bytes())) for path in chunk])
        response.raise_for_status()
        batches.append(response.json()["batch_id"])


def run_kind(stack: Stack, kind: str, files: list[Path], per_request: int, bare: tuple[float, float],
             timeout: float = 600.0) -> KindResult:
    """Upload `files` and wait until every item is final; the costs and timings of the batch."""
    voyage = f"bench-{kind}-{os.urandom(3).hex()}"
    sent: dict[str, float] = {}
    batches: list[str] = []
    client = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=120)
    before = Reading.take(stack)
    errors: list[Exception] = []
    uploader = threading.Thread(target=_upload, args=(client, voyage, files, per_request, sent, batches, errors))
    uploader.start()
    deadline = time.monotonic() + timeout
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        while uploader.is_alive() or conn.execute(_FINAL, (batches,)).fetchone()[0] < len(files):
            if errors:
                raise RuntimeError(f"{kind}: an upload failed") from errors[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{kind}: not every item final after {timeout:.0f} s")
            time.sleep(0.05)
        after = Reading.take(stack)
        rows = conn.execute(_TIMINGS, (batches,)).fetchall()
    client.close()
    first_sent, last_final = min(sent.values()), max(row[3] for row in rows)
    drain = last_final - first_sent
    runs = [Run(pid=row[4], queued=row[5], started=row[2], completed=row[3]) for row in rows if row[2] is not None]
    _write_runs(kind, rows)
    return KindResult(
        kind=kind, items=len(files), bare=bare[0], sandboxed=bare[1],
        cpu={role: (after.cpu[role] - before.cpu[role]) / len(files) for role in after.cpu},
        items_per_s=len(files) / drain,
        latencies=sorted(row[3] - sent[row[0]] for row in rows),
        cores_busy=busy_fraction(before.ticks, after.ticks),
        slots=slot_time(runs, CONCURRENCY, first_sent, last_final),
        failed=sum(row[1] != "completed" for row in rows),
    )


def _write_runs(kind: str, rows: list[tuple]) -> None:
    """Each item's timings, for a closer look at the slots' gaps: var/bench/system/<kind>-runs.csv."""
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / f"{kind}-runs.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "status", "started", "completed", "worker_pid", "published", "task_id"])
        writer.writerows(rows)


def warm_up(stack: Stack, warm: dict[str, list[Path]], bare: dict[str, tuple[float, float]],
            rounds: int = 10) -> None:
    """Run the warm-up files until every pool process has started its render server and built its
    context (S3 clients, database pool), and until the media worker has run a beat tick (its pool
    process builds its context at the first): a start is a cost per process, not per item."""
    for _ in range(rounds):
        for kind, files in warm.items():
            run_kind(stack, kind, files, len(files), bare[kind])  # at once: each pool process takes one
        snap = Snapshot()
        if len(snap.matching(snap.tree(stack.thumbnails.process.pid), "sequoia_thumbnails.render_server")) \
                >= CONCURRENCY:
            wait_for(lambda: " succeeded in " in stack.media.log(), 60, "the media worker's first beat tick")
            return
    raise RuntimeError(f"fewer than {CONCURRENCY} render servers after {rounds} warm-up rounds")


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def report(results: list[KindResult]) -> str:
    """The two tables: CPU per item by role against the bare render, and the batch's flow."""
    ms = lambda seconds: f"{seconds * 1000:,.0f}"  # noqa: E731
    lines = ["CPU per item, ms. bare: the engine in-process; sandboxed: the same in the render server's "
             "forked jobs (sequoia-render); ours: API + thumbnails worker's main process and pool + render server and "
             "jobs + media worker and beat; overhead: ours - bare",
             f"{'kind':<7}{'items':>6}{'bare':>6}{'sandboxed':>10}{'API':>5}{'main':>5}{'pool':>5}{'render':>7}{'media':>6}"
             f"{'ours':>6}{'ours/bare':>10}{'ours/sandboxed':>15}{'overhead':>9}{'flower':>7}{'S3':>5}{'Redis':>6}"
             f"{'Postgres':>9}"]
    for r in results:
        lines.append(f"{r.kind:<7}{r.items:>6}{ms(r.bare):>6}{ms(r.sandboxed):>10}{ms(r.cpu['api']):>5}"
                     f"{ms(r.cpu['worker main']):>5}{ms(r.cpu['pool']):>5}{ms(r.cpu['render']):>7}{ms(r.cpu['media']):>6}{ms(r.ours):>6}"
                     f"{r.ours / r.bare:>9.2f}x{r.ours / r.sandboxed:>14.2f}x{ms(r.ours - r.bare):>9}"
                     f"{ms(r.cpu['flower']):>7}{ms(r.cpu['s3']):>5}{ms(r.cpu['redis']):>6}{ms(r.cpu['postgres']):>9}")
    lines += ["", "flow: items/s over the drain (first upload sent to last item final); upload to final, s; "
              "machine cores busy; worker pool slots holding a task (claim to completion), and idle: before "
              "their first task (head), between tasks with the queue empty (starved) or with work waiting "
              "(handover, and its median in ms), after their last (tail) (bench/system/slots.py)",
              f"{'kind':<7}{'items/s':>8}{'p50':>7}{'p95':>7}{'cores busy':>11}{'slots busy':>11}{'head':>6}"
              f"{'starved':>8}{'handover':>9}{'p50 ms':>7}{'tail':>6}{'failed':>7}"]
    for r in results:
        s = r.slots
        lines.append(f"{r.kind:<7}{r.items_per_s:>8.2f}{_percentile(r.latencies, 0.5):>7.2f}"
                     f"{_percentile(r.latencies, 0.95):>7.2f}{r.cores_busy:>10.0%}{s.share(s.busy):>11.0%}"
                     f"{s.share(s.head):>6.0%}{s.share(s.starved):>8.0%}{s.share(s.handover):>9.0%}"
                     f"{s.handover_p50 * 1000:>7.0f}{s.share(s.tail):>6.0%}{r.failed:>7}")
    return "\n".join(lines)


def start_stack(work: Path, database_url: str, s3: services.S3Target, prefetch: int) -> Stack:
    """API, thumbnails worker, media worker with beat and Flower on free ports, as `make up` runs them."""
    redis_url = services.redis_db_url(REDIS_DB)
    services.purge_queues(redis_url)
    env = services.service_env(database_url, redis_url, s3, RENDER_TIME_LIMIT_SECONDS="300",
                               RENDER_MEMORY_LIMIT_MB="2048", FLOWER_PASSWORD=os.urandom(12).hex(),
                               WORKER_PREFETCH_MULTIPLIER=str(prefetch))
    settings = services.settings_from(env)
    api, api_url = services.start_api(env, work)
    # As scripts/start_celery_worker.sh (and the chart) start them: no mingle, no gossip.
    solo = ("--without-mingle", "--without-gossip")
    thumbnails = services.start_worker(env, "sequoia_thumbnails.worker", "thumbnails", "thumbs", work,
                                       concurrency=CONCURRENCY, extra_args=("--max-tasks-per-child", "1000", *solo))
    media = services.start_worker(env, "sequoia_media.worker", "media,default", "media", work,
                                  extra_args=("-B", "--schedule", str(work / "beat-schedule"), *solo))
    flower_port = services.seaweed.free_port()
    flower = services.spawn("flower", [str(ROOT / "scripts" / "start_celery_flower.sh")],
                            {**env, "FLOWER_PORT": str(flower_port)}, work)
    stack = Stack(api, api_url, thumbnails, media, flower, _weed_pid(s3.endpoint_url),
                  redis.Redis.from_url(redis_url).info("server")["process_id"], database_url)
    try:
        services.wait_http(f"{api_url}/readyz", api)
        services.wait_http(f"http://127.0.0.1:{flower_port}/healthcheck", flower)
        for worker in (thumbnails, media):
            services.wait_for_ping(settings, worker)
    except BaseException:
        stop_stack(stack)
        raise
    return stack


def _weed_pid(endpoint_url: str) -> int:
    """The pid of the `weed server` whose S3 gateway listens at `endpoint_url`."""
    port = endpoint_url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"weed") and f"-s3.port={port}".encode() in args:
                return int(entry.name)
    raise RuntimeError(f"no weed process serves {endpoint_url}")


def stop_stack(stack: Stack) -> None:
    for process in (stack.api, stack.thumbnails, stack.media, stack.flower):
        services.stop_worker(process)


def _profilers(stack: Stack, label: str) -> list[subprocess.Popen]:
    """py-spy on the API, every thumbnails worker process and the media worker's (GIL holders), until stopped."""
    py_spy = shutil.which("py-spy", path=str(services.BIN)) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    OUT.mkdir(parents=True, exist_ok=True)
    targets = {"api": (stack.api.process.pid, []), "worker": (stack.thumbnails.process.pid, ["--subprocesses"]),
               "media": (stack.media.process.pid, ["--subprocesses", "--gil"])}
    return [subprocess.Popen([py_spy, "record", "--pid", str(pid), *extra, "--nonblocking", "--rate", "200",
                              "--format", "raw", "-o", str(OUT / f"{label}-{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, (pid, extra) in targets.items()]


def main() -> int:
    """Make the corpus, measure the bare render, run each kind's batch through the stack, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--pdfs", type=int, default=12)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--audio", type=int, default=6)
    parser.add_argument("--per-request", type=int, default=4, help="files per upload request")
    parser.add_argument("--only", default=",".join(corpus.KINDS), help="kinds to run, comma-separated")
    parser.add_argument("--prefetch", type=int, default=get_settings().worker_prefetch_multiplier,
                        help="the workers' WORKER_PREFETCH_MULTIPLIER")
    parser.add_argument("--profile", action="store_true", help="py-spy the API and the worker (var/bench/system/)")
    args = parser.parse_args()
    counts = {"image": args.photos, "pdf": args.pdfs, "video": args.videos, "audio": args.audio}
    kinds = [kind for kind in corpus.KINDS if kind in args.only.split(",")]
    print(f"command: python -m bench.system.run {' '.join(sys.argv[1:])}".rstrip())
    print(f"bench-system: {', '.join(f'{counts[k]} {k}' for k in kinds)}; {args.per_request} files per request; "
          f"prefetch {args.prefetch}; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-system-") as tmp, services.fresh_database() as db, \
            services.s3_target(Path(tmp)) as s3:
        work = Path(tmp)
        files = {kind: corpus.make(kind, counts[kind], work / "corpus") for kind in kinds}
        # Warm-up files: numbered after the measured ones, so distinct from them.
        warm = {kind: corpus.make(kind, CONCURRENCY, work / "warm", first=counts[kind]) for kind in kinds}
        bare = {kind: (bare_render(files[kind], warm[kind][0], isolate=False),
                       bare_render(files[kind], warm[kind][0], isolate=True)) for kind in kinds}
        print("bare render, CPU ms per item, in-process / sandboxed: "
              + ", ".join(f"{k} {v[0] * 1000:.0f} / {v[1] * 1000:.0f}" for k, v in bare.items()), flush=True)
        stack = start_stack(work, db, s3, args.prefetch)
        try:
            warm_up(stack, warm, bare)
            for kind in kinds:
                profilers = _profilers(stack, kind) if args.profile else []
                results.append(run_kind(stack, kind, files[kind], args.per_request, bare[kind]))
                for profiler in profilers:
                    profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
                    profiler.wait(30)
                print(f"  {kind}: {results[-1].items} items, {results[-1].items_per_s:.2f}/s", flush=True)
        finally:
            stop_stack(stack)
    print()
    print(report(results))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
