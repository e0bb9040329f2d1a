"""`make bench-ingest`: the API's CPU per uploaded 12 MP photo, the API alone (no workers), against
the API of another source tree in the same run.

The API runs under uvicorn as `make up` runs it, with SeaweedFS S3, a fresh Postgres database and
db 10 of REDIS_URL's Redis (the queued tasks are dropped after each batch: no worker takes them).
`--baseline DIR` starts a second API from the source tree DIR (a git worktree of main, say) on the
same services; both get the same photos in requests of `--per-request` files, batch after batch, in
alternating order, so the shared machine's load weighs on both alike. Per batch it prints each
API's CPU (its process, from `/proc`) and SeaweedFS's per item; at the end the medians and their
ratio. The Postgres backends and Redis are shared by both APIs, so they are not split here.

    REDIS_URL=redis://127.0.0.1:PORT/0 python -m bench.system.ingest [--baseline DIR] [--rounds 5]

`--profile` runs py-spy on this tree's API and leaves a raw (collapsed) profile in var/bench/system/.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.system import corpus
from bench.system.cpu import Snapshot
from bench.system.run import OUT, REDIS_DB, _weed_pid
from tests.support import services
from tests.support.services import TEST_TOKEN


@dataclass
class Api:
    """One API under test: its name, process and client."""

    name: str
    process: services.WorkerProcess
    client: httpx.Client


def start(name: str, env: dict[str, str], work: Path, source: Path | None) -> Api:
    """The API of this tree, or of `source` (its packages put first on the path)."""
    if source is not None:
        paths = [str(source / "services" / pkg / "src") for pkg in ("api", "core")]
        env = {**env, "PYTHONPATH": os.pathsep.join([*paths, env.get("PYTHONPATH", "")])}
        found = subprocess.run([sys.executable, "-c", "import sequoia_api, sequoia_core; "
                                "print(sequoia_api.__file__, sequoia_core.__file__)"],
                               env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout
        if found.count(str(source)) != 2:
            raise SystemExit(f"the baseline's packages were not the ones imported: {found}")
    process, url = services.start_api(env, work, name=name)
    services.wait_http(f"{url}/readyz", process)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=120)
    return Api(name, process, client)


def upload(api: Api, files: list[tuple[str, bytes]], per_request: int) -> None:
    """Every file, `per_request` to a request, to a voyage of its own."""
    voyage = f"ingest-{os.urandom(3).hex()}"
    for begin in range(0, len(files), per_request):
        response = api.client.post(f"/api/voyages/{voyage}/media",
                                   files=[("files", item) for item in files[begin:begin + per_request]])
        response.raise_for_status()


def batch(api: Api, s3_pid: int, files: list[tuple[str, bytes]], per_request: int) -> tuple[float, float]:
    """CPU seconds per file of the API and of SeaweedFS over one batch."""
    before = Snapshot()
    upload(api, files, per_request)
    after = Snapshot()
    spent = [after.cpu(after.tree(pid)) - before.cpu(before.tree(pid)) for pid in (api.process.process.pid, s3_pid)]
    return spent[0] / len(files), spent[1] / len(files)


def main() -> int:
    """Start the services and the API(s), upload the photos batch after batch, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--per-request", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="a source tree whose API is measured beside this one")
    parser.add_argument("--profile", action="store_true", help="py-spy this tree's API (var/bench/system/)")
    args = parser.parse_args()
    print(f"command: python -m bench.system.ingest {' '.join(sys.argv[1:])}".rstrip())
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, services.fresh_database() as db, \
            services.s3_target(Path(tmp)) as s3:
        work = Path(tmp)
        paths = corpus.make("image", args.photos + args.per_request, work / "corpus")
        files = [(path.name, path.read_bytes()) for path in paths]
        warm, files = files[args.photos:], files[:args.photos]
        print(f"{len(files)} photos, {statistics.mean(len(f[1]) for f in files) / 1e6:.2f} MB each, "
              f"{args.per_request} per request", flush=True)
        redis_url = services.redis_db_url(REDIS_DB)
        env = services.service_env(db, redis_url, s3)
        apis = [start("this", env, work, None)]
        if args.baseline:
            apis.append(start("baseline", env, work, args.baseline.resolve()))
        s3_pid = _weed_pid(s3.endpoint_url)
        profiler = None
        try:
            for api in apis:
                upload(api, warm, args.per_request)
            if args.profile:
                OUT.mkdir(parents=True, exist_ok=True)
                profiler = subprocess.Popen(
                    [str(services.BIN / "py-spy"), "record", "--pid", str(apis[0].process.process.pid),
                     "--nonblocking", "--rate", "250", "--format", "raw", "-o", str(OUT / "ingest-api.txt")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            results: dict[str, list[tuple[float, float]]] = {api.name: [] for api in apis}
            for index in range(args.rounds):
                for api in apis if index % 2 == 0 else apis[::-1]:
                    services.purge_queues(redis_url)
                    results[api.name].append(batch(api, s3_pid, files, args.per_request))
                print(f"  round {index + 1}: " + "; ".join(
                    f"{name} API {runs[-1][0] * 1000:.2f} ms, S3 {runs[-1][1] * 1000:.2f} ms"
                    for name, runs in results.items()), flush=True)
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(30)
            for api in apis:
                api.client.close()
                services.stop_worker(api.process)
            services.purge_queues(redis_url)
    medians = {name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
               for name, runs in results.items()}
    print("\nCPU per photo, median of the rounds: " + "; ".join(
        f"{name} API {api * 1000:.2f} ms, S3 {s3_cpu * 1000:.2f} ms" for name, (api, s3_cpu) in medians.items()))
    if "baseline" in medians:
        ratios = [this[0] / base[0] for this, base in zip(results["this"], results["baseline"], strict=True)]
        print(f"API this / baseline: median {statistics.median(ratios):.2f} "
              f"(rounds {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
