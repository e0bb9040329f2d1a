"""Run one render in a forked child under a hard time limit and a memory limit.

The worker process never decodes a hostile file itself: a child forked from it (so every heavy
library is already imported) does, with `RLIMIT_DATA` capping its memory and its own process
group, so the child and any ffmpeg it started are killed together at the deadline. A crash, an
out-of-memory or a hang of the child fails that one item (`render_crashed`, `timeout`); the worker
goes on.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from typing import TypeVar

from sequoia_core.errors import ErrorCode, PermanentError, SequoiaError, error_for

T = TypeVar("T")

_READ_CHUNK = 1 << 16


def _data_size() -> int:
    """This process's current data segment (what `RLIMIT_DATA` counts), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(fn: Callable[[], T], write_fd: int, memory_bytes: int | None) -> None:
    """Body of the forked child: never returns, always leaves with `os._exit`."""
    status = 0
    try:
        os.setpgid(0, 0)
        # The parent's signal handlers (Celery's) must not run here.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        if memory_bytes:
            limit = _data_size() + memory_bytes
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        try:
            outcome: tuple = ("ok", fn())
        except SequoiaError as err:
            outcome = ("error", err.code, err.message)
        except MemoryError:
            outcome = ("error", ErrorCode.RENDER_CRASHED, "the renderer ran out of memory")
        except Exception as err:  # an unforeseen decoder error: report it, the parent decides
            outcome = ("error", ErrorCode.INTERNAL, f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}")
        payload = pickle.dumps(outcome)
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view):]
    except BaseException:  # noqa: BLE001 - the child must never fall back into the parent's code
        status = 70
    finally:
        os._exit(status)


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def run_isolated(fn: Callable[[], T], *, timeout: float, memory_bytes: int | None = None) -> T:
    """`fn()` run in a forked child; its result, or its `SequoiaError` re-raised here.

    Raises `PermanentError` with `timeout` when the child outlives `timeout` seconds (it and its
    process group are killed) and `render_crashed` when it dies of a signal or runs out of memory.
    `memory_bytes` is how much the child may allocate beyond what it inherited.
    """
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a threaded process forks (the worker's pool threads): the child
        # only renders and never touches the locks those threads hold.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(fn, write_fd, memory_bytes)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, _READ_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        # Always kill the group: it ends ffmpeg children left behind by a child that timed out or
        # crashed, and it is a no-op for a child that exited (its group is gone).
        _kill_group(pid)
        try:
            _, wait_status = os.waitpid(pid, 0)
        except ChildProcessError:  # reaped by a SIGCHLD handler of the host process
            wait_status = 0
    if timed_out:
        raise PermanentError(f"rendering took longer than {timeout:g} s", code=ErrorCode.TIMEOUT)
    if not chunks:
        if os.WIFSIGNALED(wait_status):
            signame = signal.Signals(os.WTERMSIG(wait_status)).name
            raise PermanentError(f"the renderer died of {signame}", code=ErrorCode.RENDER_CRASHED)
        raise PermanentError(
            f"the renderer exited with status {os.waitstatus_to_exitcode(wait_status)} and no result",
            code=ErrorCode.RENDER_CRASHED,
        )
    outcome = pickle.loads(b"".join(chunks))
    if outcome[0] == "ok":
        return outcome[1]
    raise error_for(outcome[1], outcome[2])
