"""What the thumbnails worker's processes do when they start and when they are terminated.

A cancel revokes a running task with SIGTERM to its pool process, and a hard time limit kills it:
either way the render job, its ffmpeg and the task's scratch folder must not outlive the task.
"""

from __future__ import annotations

import logging
import os
import signal
from types import FrameType
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from sequoia_thumbnails import confine, sandbox, workdirs

log = logging.getLogger(__name__)


def remove_stale_workdirs(**_: Any) -> None:
    """Scratch folders left by killed processes (a hard time limit, a crash) are removed."""
    for path in workdirs.remove_stale():
        log.info("removed the stale render folder %s", path)


def start_worker(**_: Any) -> None:
    """The main process, before it forks its pool: hidden from the renderers, no stale folders."""
    confine.hide_from_other_processes()
    remove_stale_workdirs()


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    """Kill the render job and its server, remove the task's folder, then die of the signal as before."""
    sandbox.server().stop()
    workdirs.remove_current()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def start_pool_process(**_: Any) -> None:
    """A new pool process: hidden from the renderers, clean up after its dead predecessors, clean up
    after itself if terminated."""
    confine.hide_from_other_processes()  # inherited from the main process; kept explicit
    remove_stale_workdirs()
    signal.signal(signal.SIGTERM, _on_terminate)


def stop_pool_process(**_: Any) -> None:
    """A pool process that leaves normally (max tasks per child, shutdown) takes its render server along."""
    sandbox.server().stop()


def install() -> None:
    """Connect the hooks; called once by the worker's entry module."""
    worker_init.connect(start_worker, weak=False, dispatch_uid="sequoia-workdirs-main")
    worker_process_init.connect(start_pool_process, weak=False, dispatch_uid="sequoia-workdirs-child")
    worker_process_shutdown.connect(stop_pool_process, weak=False, dispatch_uid="sequoia-render-server-stop")
