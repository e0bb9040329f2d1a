"""Each render's scratch folder (the downloaded original and the derivatives).

One folder per task under `<tmp>/sequoia-render/`, named after the worker process that owns it;
removed when the task ends, when the process is terminated (a cancel, a revoke) and, if a kill
left it behind (the hard time limit), when the next worker process starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT_NAME = "sequoia-render"
# The folder of the task now running in this process, for the termination handler.
_current: Path | None = None


def root() -> Path:
    """The folder every job folder of this machine lives in (created private to this user)."""
    path = Path(tempfile.gettempdir()) / ROOT_NAME
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@contextmanager
def job_directory() -> Iterator[Path]:
    """A new private folder for one task, removed with everything in it when the task ends."""
    global _current
    path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root()))
    _current = path
    try:
        yield path
    finally:
        _current = None
        shutil.rmtree(path, ignore_errors=True)


def remove_current() -> None:
    """Remove the running task's folder now (the process is being terminated)."""
    if _current is not None:
        shutil.rmtree(_current, ignore_errors=True)


def remove_stale() -> list[Path]:
    """Remove the folders whose owning process is gone; the removed paths."""
    removed = []
    for entry in root().iterdir():
        owner = entry.name.split("-", 1)[0]
        if owner.isdigit() and _alive(int(owner)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
