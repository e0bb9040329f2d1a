"""The harness as an OOM killer: SIGKILL, every time, whichever worker process runs one item's task.

A file that crashes its worker process (a decoder segfault, a kernel OOM kill of the pool child) cannot
be made on purpose here: the engine renders in a sandboxed child, so a crashing decoder only kills
that child. The reaper reproduces the crash from outside instead, with no hook in the product:
it asks the workers which pool process runs the item (Celery's `inspect active`) and kills it.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from celery import Celery
from kombu.exceptions import KombuError


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (the sandbox child a render runs in)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _kill(pid: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Reaper(threading.Thread):
    """Kills the pool process running `media_id`'s task each time one does, until stopped."""

    def __init__(self, celery: Celery, node: str, media_id: str) -> None:
        super().__init__(daemon=True, name="reaper")
        self.celery, self.node, self.media_id = celery, node, media_id
        self.killed: list[int] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Poll the worker's active tasks and kill the process holding the item."""
        while not self._stop_event.wait(0.02):
            try:
                replies = self.celery.control.inspect(destination=[self.node], timeout=1.0, limit=1).active()
            except (KombuError, OSError):
                continue  # the broker is away for a moment; look again
            for task in (replies or {}).get(self.node, []):
                pid = task.get("worker_pid")
                if self.media_id in str(task.get("args")) and pid and pid not in self.killed:
                    self._crash(pid)

    def _crash(self, pid: int) -> None:
        orphans = _children(pid)
        _kill(pid)  # the pool process first, so it cannot record the outcome of its own render
        for child in orphans:
            _kill(child, group=True)
        self.killed.append(pid)

    def stop(self) -> None:
        """Stop watching and wait for the thread."""
        self._stop_event.set()
        self.join(5)
