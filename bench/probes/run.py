"""Cost of the worker's probe as the chart renders it: one real thumbnails worker (prefork,
concurrency 2), the rendered liveness command run N times in sh, CPU (user + system of the probe's
processes) and wall time per run. `make bench-probes` (REDIS_URL names the Redis the worker uses)."""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from scripts import k8s_tools

ROOT = Path(__file__).resolve().parents[2]


def rendered_probe() -> tuple[list[str], dict[str, str]]:
    """The thumbnails worker's liveness command and its plain env values, from `helm template`."""
    out = subprocess.run([str(k8s_tools.ensure("helm")), "template", "sequoia", str(ROOT / "charts" / "sequoia"),
                          "--show-only", "templates/workers/deployment.yaml"],
                         capture_output=True, text=True, check=True).stdout
    worker = next(d for d in yaml.safe_load_all(out) if d and d["metadata"]["name"].endswith("worker-thumbnails"))
    container = worker["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return container["livenessProbe"]["exec"]["command"], env


def start_worker(env: dict[str, str], workdir: Path) -> subprocess.Popen:
    """The worker as the chart starts it (hostname thumbnails@<host>, so `--destination` finds it)."""
    command = [str(Path(sys.executable).with_name("celery")), "-A", "sequoia_thumbnails.worker", "worker",
               "-Q", "thumbnails", "--hostname", "thumbnails@%h", "-c", "2", "--loglevel", "warning"]
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=(workdir / "worker.log").open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def measure(command: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float], int]:
    """(CPU ms, wall ms) of each run, and how many runs failed."""
    cpu, wall, failed = [], [], 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        failed += subprocess.run(command, env=env).returncode != 0
        wall.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return cpu, wall, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    command, chart_env = rendered_probe()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {**os.environ, **chart_env, "HOSTNAME": socket.gethostname(), "METRICS_PORT": "0",
               "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        if "WORKER_HEARTBEAT_FILE" in chart_env:  # the pod's /tmp is its own; here use a private path
            env["WORKER_HEARTBEAT_FILE"] = str(workdir / "heartbeat")
            command = [part.replace(chart_env["WORKER_HEARTBEAT_FILE"], env["WORKER_HEARTBEAT_FILE"]) for part in command]
        worker = start_worker(env, workdir)
        try:
            deadline = time.monotonic() + 60
            while subprocess.run(command, env=env, capture_output=True).returncode != 0:
                if worker.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the worker never passed its probe:\n{(workdir / 'worker.log').read_text()[-2000:]}")
                time.sleep(0.5)
            cpu, wall, failed = measure(command, env, args.runs)
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(30)
    print(f"probe: {' '.join(command)}")
    print(f"runs {args.runs}, failed {failed}; CPU ms median {statistics.median(cpu):.1f} "
          f"(max {max(cpu):.1f}); wall ms median {statistics.median(wall):.1f} (max {max(wall):.1f})")


if __name__ == "__main__":
    main()
