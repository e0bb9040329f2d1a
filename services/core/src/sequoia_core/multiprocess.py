"""prometheus_client's multiprocess mode, for processes that fork workers (Celery prefork, several
uvicorn workers): the directory, the switch to file-backed values, and a collector that keeps
scrapes fast however many children have come and gone.

Each process writes its values to `<type>_<pid>.db` in the directory and a scrape sums the files.
A Celery child is replaced every `--max-tasks-per-child` tasks and leaves its files behind: after
100,000 tasks a worker would have 2,000 files and a scrape would take seconds. The collector here
folds the files of dead processes into one archive file per type before it sums.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import values
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

ENV = "PROMETHEUS_MULTIPROC_DIR"
_PROCESS_FILE = re.compile(r"^(counter|histogram)_(\d+)\.db$")
_LOCK_FILE = ".sequoia-compaction.lock"


def prepare_dir(configured: Path | None) -> tuple[Path, bool]:
    """The directory this process tree writes its values to, emptied; and whether it is a private
    temporary one (the caller removes it at shutdown).

    A configured directory (an emptyDir in Kubernetes) may hold files of the previous container of
    the pod; their counts belong to a process tree that is gone, so they are removed.
    """
    if configured is None:
        return Path(tempfile.mkdtemp(prefix="sequoia-metrics-")), True
    configured.mkdir(parents=True, exist_ok=True)
    for stale in configured.glob("*.db"):
        stale.unlink()
    return configured, False


def use_file_values(directory: Path) -> None:
    """Make every metric child created from now on write to `directory`, in this process and in the
    children it forks.

    prometheus_client chooses in-memory or file-backed values when it is first imported, from
    PROMETHEUS_MULTIPROC_DIR. The `celery` command may import it before the worker knows the
    directory (Flower's CLI plugin does), so the choice is made again here. Sequoia's metrics all
    have labels, and a labelled metric creates its values when first used, after this.
    """
    os.environ[ENV] = str(directory)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.get_value_class()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (an unreaped child still does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path: Path, metrics: Iterable[Metric]) -> None:
    store = MmapedDict(str(path))
    try:
        for metric in metrics:
            for sample in metric.samples:
                key = mmap_key(metric.name, sample.name, list(sample.labels), list(sample.labels.values()),
                               metric.documentation)
                store.write_value(key, sample.value, 0.0)
    finally:
        store.close()


class CompactingCollector(Collector):
    """Sums every process's files, after folding those of dead processes into `<type>_archive.db`.

    Counters and histograms only: they are all Sequoia's worker and API metrics use. A POSIX record
    lock keeps two processes serving the same directory from folding (or reading) at the same time,
    and a thread lock two scrapes of one process. Not `flock`: a prefork child forked during a scrape
    inherits a flock with the open file and holds it for its whole life, hanging every later scrape;
    a record lock belongs to the process that took it and is never inherited.
    """

    _scrape = threading.Lock()

    def __init__(self, directory: Path, is_alive: Callable[[int], bool] = pid_alive) -> None:
        self._directory = directory
        self._is_alive = is_alive

    def collect(self) -> Iterable[Metric]:
        """Fold, then sum every file."""
        with self._scrape, (self._directory / _LOCK_FILE).open("a") as lock:
            fcntl.lockf(lock, fcntl.LOCK_EX)
            self.compact()
            return list(MultiProcessCollector.merge([str(p) for p in self._directory.glob("*.db")]))

    def compact(self) -> int:
        """Fold the files of dead processes into the archives; returns how many were folded."""
        folded = 0
        for kind in ("counter", "histogram"):
            dead = [path for path in self._directory.glob(f"{kind}_*.db")
                    if (match := _PROCESS_FILE.match(path.name)) and not self._is_alive(int(match.group(2)))]
            if not dead:
                continue
            archive = self._directory / f"{kind}_archive.db"
            sources = (dead + [archive]) if archive.exists() else dead
            # accumulate=False keeps histogram buckets as stored (per bucket), fit to be written back.
            merged = MultiProcessCollector.merge([str(p) for p in sources], accumulate=False)
            staging = self._directory / f"{kind}_archive.staging"
            staging.unlink(missing_ok=True)
            _write(staging, merged)
            staging.replace(archive)
            for path in dead:
                path.unlink()
            folded += len(dead)
        return folded
