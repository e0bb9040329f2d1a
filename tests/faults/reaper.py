"""The harness as an OOM killer: SIGKILL, every time, whichever worker process runs one item's task.

A file that crashes its worker process (a decoder segfault, a kernel OOM kill of the pool child) cannot
be made on purpose here: the engine renders in a sandboxed child, so a crashing decoder only kills
that child. The reaper reproduces the crash from outside instead, with no hook in the product:
each time a worker claims the item, it asks that worker which pool process runs the item (Celery's
`inspect active`) and kills it, and the render child it forked.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import psycopg
from celery import Celery
from kombu.exceptions import KombuError
from redis import RedisError


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
    """Kills the pool process that claimed `media_id`, once per claim (attempt), until stopped.

    Only a process that claimed the item (rendering it) dies: a delivery that finds the item taken
    and skips it never touches the file, so it lives, as it would with a real poison file.
    """

    def __init__(self, celery: Celery, node: str, database_url: str, media_id: str) -> None:
        super().__init__(daemon=True, name="reaper")
        self.celery, self.node, self.database_url, self.media_id = celery, node, database_url, media_id
        self.killed: dict[int, int] = {}  # attempt → pid of the process killed during it
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Watch the item; when a new attempt is processing, find its process and kill it."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop_event.wait(0.05):
                status, attempt = conn.execute(_ITEM, (self.media_id,)).fetchone()
                if status == "processing" and attempt not in self.killed:
                    pid = self._pool_process()
                    if pid:
                        self._crash(pid)
                        self.killed[attempt] = pid

    def _pool_process(self) -> int | None:
        """The pid of the pool process running the item's task, from Celery's `inspect active`."""
        try:
            replies = self.celery.control.inspect(destination=[self.node], timeout=1.0, limit=1).active()
        except (KombuError, RedisError, OSError) as err:  # the broker is away for a moment; look again
            self.errors.append(repr(err))
            return None
        for task in (replies or {}).get(self.node, []):
            if self.media_id in str(task.get("args")):
                return task.get("worker_pid")
        return None

    def _crash(self, pid: int) -> None:
        orphans = _children(pid)
        _kill(pid)  # the pool process first, so it cannot record the outcome of its own render
        for child in orphans:
            _kill(child, group=True)

    def stop(self) -> None:
        """Stop watching and wait for the thread."""
        self._stop_event.set()
        self.join(5)


_ITEM = "SELECT processing_status, attempts FROM media WHERE id = %s"
