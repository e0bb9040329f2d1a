"""What the media worker and beat cost with nothing to do: `python -m bench.system.media_idle`.

Two measures on a fresh database (optionally seeded with `--rows` final items, each with its
published outbox entry) and db 10 of REDIS_URL's Redis (use a Redis of your own: its command
counts are read):

- **ticks**: each periodic task's body called in this process, `--repeat` times: CPU per call
  (ours, from `getrusage`), SQL statements and Redis commands per call.
- **idle**: a real media worker with beat (`celery -A sequoia_media.worker worker -Q media,default
  -B`, as `make up` and bench-system start it) left alone for `--seconds`: CPU per minute of its
  main process and of its children, the pool and beat (from `/proc`), Redis commands and Postgres transactions per minute.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from bench.api.seed import _SEED
from bench.system import cpu
from sequoia_core.celery_app import create_celery_app
from tests.support import services

REDIS_DB = 10
VOYAGE = "bench-media-idle"


def seed(database_url: str, rows: int) -> None:
    """`rows` final items with their published outbox entries, as a deployment keeps them."""
    if rows:
        with psycopg.connect(database_url) as conn:
            conn.execute(_SEED, {"voyage": VOYAGE, "rows": rows})
            conn.execute("ANALYZE")


def commandstats(client: redis.Redis) -> collections.Counter:
    """Calls per Redis command since the server started."""
    return collections.Counter({name.removeprefix("cmdstat_"): stats["calls"]
                                for name, stats in client.info("commandstats").items()})


def xacts(database_url: str) -> int:
    """Transactions committed and rolled back in the database (this query's own included)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                           " WHERE datname = current_database()").fetchone()
    return int(row[0])


def ticks(env: dict[str, str], repeat: int) -> None:
    """Each beat task's body in this process: CPU, statements and commands per call."""
    os.environ.update(env)
    from sequoia_core import tasks as task_names
    from sequoia_media import tasks  # noqa: F401  (registers the tasks)
    from sequoia_media.context import worker_context
    from sequoia_media.worker import app

    statements = collections.Counter()
    original = psycopg.Cursor.execute

    def counting(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        statements["n"] += 1
        return original(self, query, *args, **kwargs)

    psycopg.Cursor.execute = counting  # type: ignore[method-assign]
    client = redis.Redis.from_url(env["REDIS_URL"])
    names = [entry["task"] for entry in app.conf.beat_schedule.values()]
    worker_context().storage.ensure_bucket()  # the API creates it in a stack
    print(f"{'task':<34}{'CPU ms':>8}{'SQL':>6}{'Redis':>7}")
    for name in [*names, task_names.SWEEP_STUCK]:
        task = app.tasks[name]
        task.run()  # first call: connections, caches
        statements.clear()
        before_cmds = commandstats(client)
        before = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(repeat):
            task.run()
        after = resource.getrusage(resource.RUSAGE_SELF)
        commands = commandstats(client) - before_cmds
        commands["info"] -= 1  # our own reading
        used = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / repeat
        print(f"{name:<34}{used * 1000:>8.2f}{statements['n'] / repeat:>6.1f}"
              f"{sum(commands.values()) / repeat:>7.1f}  {dict(+commands)}")
    psycopg.Cursor.execute = original  # type: ignore[method-assign]


def idle(env: dict[str, str], work: Path, database_url: str, seconds: float, settle: float,
         flags: tuple[str, ...], profile: Path | None, beat: bool = True, events: bool = False,
         app: str = "sequoia_media.worker") -> None:
    """A real media worker with beat left alone: CPU per minute by process, commands, transactions."""
    settings = services.settings_from(env)
    media = services.start_worker(env, app, "media,default", "media", work,
                                  extra_args=(*(("-B", "--schedule", str(work / "beat-schedule")) if beat else ()), *flags))
    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        services.wait_for_ping(settings, media)
        if events:  # what a watching Flower broadcasts every 5 s
            create_celery_app(settings).control.enable_events()
        time.sleep(settle)  # the first ticks, the pool's connections
        root = media.process.pid
        first = cpu.Snapshot()
        pids = first.tree(root)
        cmds0, xact0, start = commandstats(client), xacts(database_url), time.monotonic()
        spy = None
        if profile is not None:
            spy = subprocess.Popen([str(services.BIN / "py-spy"), "record", "--pid", str(root), "--subprocesses",
                                    "--nonblocking", "--rate", "500", "--gil", "--format", "raw",
                                    "-o", str(profile), "--duration", str(int(seconds))],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        last = cpu.Snapshot()
        cmds = commandstats(client) - cmds0
        cmds["info"] -= 1
        xact = xacts(database_url) - xact0 - 1
        minutes = (time.monotonic() - start) / 60
        roles: dict[str, set[int]] = {"main": {root}, "pool and beat": pids - {root}}
        # The main process's own CPU only: what it reaped (a recycled pool process) counts as pool.
        own = {pid: last.procs[pid].own - first.procs[pid].own for pid in pids if pid in last.procs}
        total = last.cpu(last.tree(root)) - first.cpu(pids)
        line = ", ".join(f"{role} {sum(own.get(pid, 0) for pid in group) / minutes * 1000:.0f}"
                         for role, group in roles.items())
        print(f"idle {seconds:.0f} s: CPU ms a minute: {line}; whole tree {total / minutes * 1000:.0f}")
        print(f"Redis commands a minute: {sum(cmds.values()) / minutes:.0f}  "
              + ", ".join(f"{k} {v / minutes:.1f}" for k, v in cmds.most_common() if v > 0))
        print(f"Postgres transactions a minute: {xact / minutes:.0f}")
        if spy is not None:
            spy.wait(120)
    finally:
        services.stop_worker(media)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="final items (and outbox entries) to seed")
    parser.add_argument("--seconds", type=float, default=120.0, help="idle window of the real worker (0: none)")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before the idle window")
    parser.add_argument("--worker-args", default="--without-mingle --without-gossip", help="more arguments of `celery worker`")
    parser.add_argument("--app", default="sequoia_media.worker", help="the worker's Celery app (-A)")
    parser.add_argument("--events", action="store_true", help="turn task events on, as a watching Flower does")
    parser.add_argument("--no-beat", action="store_true", help="the worker alone, without -B")
    parser.add_argument("--profile", type=Path, help="py-spy record (raw) of the worker's tree into this file")
    parser.add_argument("--repeat", type=int, default=50, help="calls of each tick body (0: none)")
    args = parser.parse_args()
    print(f"media_idle: rows {args.rows}; load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    redis_url = services.redis_db_url(REDIS_DB)
    services.purge_queues(redis_url)
    with tempfile.TemporaryDirectory(prefix="bench-media-idle-") as tmp, services.fresh_database() as db, \
            services.s3_target(Path(tmp)) as s3:
        seed(db, args.rows)
        env = services.service_env(db, redis_url, s3)
        if args.seconds:
            idle(env, Path(tmp), db, args.seconds, args.settle, tuple(args.worker_args.split()), args.profile,
                 beat=not args.no_beat, events=args.events, app=args.app)
        if args.repeat:
            ticks(env, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
