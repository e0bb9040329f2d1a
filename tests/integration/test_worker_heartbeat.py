"""Worker probes without a Python interpreter: the worker's main process touches a heartbeat file,
and the chart's probe (plain sh) checks its age. Real worker, the chart's rendered probe command."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import yaml

from scripts import k8s_tools
from tests.chart.conftest import CHART
from tests.support import services

HEARTBEAT = "/tmp/heartbeat"


def _rendered_probes() -> dict[str, dict]:
    """The thumbnails worker's probes as the chart renders them."""
    out = subprocess.run([str(k8s_tools.ensure("helm")), "template", "sequoia", str(CHART),
                          "--show-only", "templates/workers/deployment.yaml"],
                         capture_output=True, text=True, check=True).stdout
    worker = next(d for d in yaml.safe_load_all(out) if d and d["metadata"]["name"].endswith("worker-thumbnails"))
    container = worker["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WORKER_HEARTBEAT_FILE"] == HEARTBEAT
    return {kind: container[kind] for kind in ("readinessProbe", "livenessProbe")}


def _run_probe(probe: dict, heartbeat: str) -> int:
    command = [part.replace(HEARTBEAT, heartbeat) for part in probe["exec"]["command"]]
    assert command[0] == "sh" and "python" not in " ".join(command) and "celery" not in " ".join(command)
    return subprocess.run(command, timeout=5).returncode


def _wait_for(condition, timeout: float, what: str, worker) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if not worker.alive():
            raise AssertionError(f"worker exited:\n{worker.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s:\n{worker.log()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture
def beating_worker(service_env, settings, workdir):
    heartbeat = workdir / f"heartbeat-{os.getpid()}-{time.monotonic_ns()}"
    worker = services.start_worker({**service_env, "WORKER_HEARTBEAT_FILE": str(heartbeat),
                                    "WORKER_HEARTBEAT_SECONDS": "1"},
                                   "sequoia_thumbnails.worker", "thumbnails", "beat", workdir)
    try:
        yield worker, heartbeat
    finally:
        services.stop_worker(worker)


def test_the_worker_keeps_a_heartbeat_that_the_rendered_probes_accept(beating_worker):
    worker, heartbeat = beating_worker
    probes = _rendered_probes()

    _wait_for(heartbeat.exists, 60, "no heartbeat file", worker)
    first = heartbeat.stat().st_mtime
    _wait_for(lambda: heartbeat.stat().st_mtime > first, 10, "the heartbeat did not advance", worker)
    for kind, probe in probes.items():
        assert _run_probe(probe, str(heartbeat)) == 0, kind


def test_the_probes_fail_on_a_stale_or_missing_heartbeat(tmp_path):
    probes = _rendered_probes()
    stale = tmp_path / "heartbeat"
    stale.touch()
    os.utime(stale, (time.time() - 120, time.time() - 120))

    for kind, probe in probes.items():
        assert _run_probe(probe, str(stale)) != 0, f"{kind} accepts a 2-minute-old heartbeat"
        assert _run_probe(probe, str(tmp_path / "missing")) != 0, f"{kind} accepts no heartbeat"
