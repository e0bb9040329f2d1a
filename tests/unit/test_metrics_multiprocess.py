"""Folding the files of dead prefork children keeps every count and every histogram bucket, and
leaves the files of live processes alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sequoia_core.multiprocess import CompactingCollector

CHILD = """
import sys
from sequoia_core import metrics
for runtime in map(float, sys.argv[1:]):
    metrics.TASKS.labels("thumbnails", "thumbnails.generate", "image", "succeeded").inc()
    metrics.TASK_RUNTIME.labels("thumbnails", "thumbnails.generate", "image").observe(runtime)
"""


def run_child(directory: Path, *runtimes: float) -> int:
    """A process that counts some tasks the way a Celery child does, then exits; returns its pid."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    process = subprocess.run([sys.executable, "-c", CHILD, *map(str, runtimes)], env=env, check=True, timeout=60)
    assert process.returncode == 0
    return max(int(p.stem.split("_")[1]) for p in directory.glob("counter_*.db") if p.stem.split("_")[1].isdigit())


def scrape(collector: CompactingCollector) -> dict[tuple, float]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


LABELS = {"media_kind": "image", "queue": "thumbnails", "task": "thumbnails.generate"}


def key(name: str, **extra: str) -> tuple:
    return name, tuple(sorted({**LABELS, **extra}.items()))


def test_dead_children_fold_into_one_archive_and_nothing_is_lost(tmp_path):
    for runtimes in ((0.2,), (0.3, 4.0), (0.1, 0.1, 700.0)):
        run_child(tmp_path, *runtimes)
    unfolded = CompactingCollector(tmp_path, is_alive=lambda pid: True)
    before = scrape(unfolded)

    after = scrape(CompactingCollector(tmp_path, is_alive=lambda pid: False))

    assert after == before
    assert after[key("sequoia_tasks_total", outcome="succeeded")] == 6
    assert after[key("sequoia_task_runtime_seconds_count")] == 6
    assert after[key("sequoia_task_runtime_seconds_bucket", le="0.25")] == 3
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["counter_archive.db", "histogram_archive.db"]


def test_later_children_fold_into_the_existing_archive(tmp_path):
    collector = CompactingCollector(tmp_path, is_alive=lambda pid: False)
    run_child(tmp_path, 1.0)
    scrape(collector)
    run_child(tmp_path, 2.0, 3.0)

    samples = scrape(collector)

    assert samples[key("sequoia_tasks_total", outcome="succeeded")] == 3
    assert samples[key("sequoia_task_runtime_seconds_sum")] == 6.0
    assert len(list(tmp_path.glob("*.db"))) == 2


def test_files_of_live_processes_stay(tmp_path):
    live = run_child(tmp_path, 1.0)
    run_child(tmp_path, 1.0)

    folded = CompactingCollector(tmp_path, is_alive=lambda pid: pid == live).compact()

    assert folded == 2  # the dead one's counter and histogram files
    assert (tmp_path / f"counter_{live}.db").exists() and (tmp_path / f"histogram_{live}.db").exists()


def test_a_child_forked_during_a_scrape_never_blocks_later_scrapes(tmp_path):
    # Celery's prefork pool forks while the metrics thread may be mid-scrape, holding the lock.
    collector = CompactingCollector(tmp_path)
    original = collector.compact

    def fork_a_lingering_child() -> int:
        child = os.fork()
        if child == 0:  # the child keeps every inherited descriptor open until killed
            time.sleep(60)
            os._exit(0)
        children.append(child)
        return original()

    children: list[int] = []
    collector.compact = fork_a_lingering_child
    try:
        list(collector.collect())
        collector.compact = original
        later = threading.Thread(target=lambda: list(collector.collect()), daemon=True)
        later.start()
        later.join(timeout=10)
        assert not later.is_alive(), "a later scrape waits for a lock the child inherited"
    finally:
        for child in children:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
