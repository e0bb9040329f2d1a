"""Run one render in a process that never had the worker's secrets, under time, CPU and memory limits.

The worker process never decodes a hostile file itself. It starts a render server once
(`render_server`: an empty environment, no inherited descriptors, its own session, no sockets,
the engines loaded) and asks it for each render; the server forks a job that inherits only the
loaded libraries. A job's result comes back as JSON. At the deadline the job's process group is
killed, ffmpeg included; a crash, an out-of-memory or a hang fails that one item
(`render_crashed`, `timeout`) and the worker goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

from sequoia_core.errors import ErrorCode, PermanentError, error_for

# What rendering needs from the worker's environment; nothing else crosses (no DATABASE_URL, no
# AWS_*). PATH finds ffmpeg; the locale and time zone keep messages and dates as the worker's.
_PASSED_VARIABLES = ("PATH", "LANG", "LC_ALL", "TZ", "LD_LIBRARY_PATH", "VIPS_CONCURRENCY", "OMP_NUM_THREADS")
# libvips refuses its loaders not fuzzed for untrusted input (ImageMagick, matload, FITS, ...).
# glibc's malloc asks for transparent huge pages: a job, a fresh fork, otherwise takes a page fault
# for every 4 KB of the buffers it decodes into (7,200 faults a 12 MP photo; 1,400 with them).
_FIXED_VARIABLES = {"VIPS_BLOCK_UNTRUSTED": "1", "HOME": "/nonexistent", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
# What a worker's render server loads before its first job: every engine (named, never imported here).
ENGINES = "sequoia_thumbnails.render_entry:warm_up"
_START_TIMEOUT = 120.0
# After a job is killed, how long the server may take to report it before it is replaced.
_REPORT_GRACE = 10.0
# A job over its CPU limit gets SIGXCPU: it is as out of time as one killed at the deadline.
_OUT_OF_TIME = (signal.SIGXCPU,)


class _Deadline(Exception):
    """The server did not answer in time."""


def render_environment() -> dict[str, str]:
    """The whole environment of the render server."""
    return {name: os.environ[name] for name in _PASSED_VARIABLES if name in os.environ} | _FIXED_VARIABLES


class RenderServer:
    """The render server of one worker process, started on first use and restarted if it dies."""

    def __init__(self, warm_up: tuple[str, ...] = ()) -> None:
        self._warm_up = warm_up  # "module:function"s the server calls once, before its first job
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._ids = itertools.count(1)
        self.current_job: int | None = None  # pid of the job now running, for `stop`

    def run(self, target: str, payload: dict[str, Any], *, timeout: float, memory_bytes: int | None = None) -> Any:
        """`target(payload)` ("module:function") run in a fresh job; its JSON result, or its error.

        Raises `PermanentError` with `timeout` when the job outlives `timeout` seconds of wall or
        CPU time (its process group is killed) and `render_crashed` when it dies of a signal or runs
        out of memory. `memory_bytes` is how much the job may allocate beyond what it inherited.
        """
        job = next(self._ids)
        request = {"job": job, "target": target, "payload": payload, "timeout": timeout, "memory_bytes": memory_bytes}
        self._send(json.dumps(request).encode() + b"\n")
        deadline = time.monotonic() + timeout
        try:
            self.current_job = self._read_header(job, deadline)["pid"]
            status, body = self._read_result(job, deadline)
        except _Deadline:
            self._kill_current(job)
            raise PermanentError(f"rendering took longer than {timeout:g} s", code=ErrorCode.TIMEOUT) from None
        except BaseException:
            # Interrupted mid-job (Celery's soft time limit): the server is still busy with it.
            self.stop()
            raise
        finally:
            self.current_job = None
        return _outcome(status, body, timeout)

    def stop(self) -> None:
        """Kill the running job's process group and the server (a terminated task, a worker exit)."""
        if self.current_job is not None:
            _kill_group(self.current_job)
        process, self._process = self._process, None
        if process is not None:
            _kill_group(process.pid)
            process.wait()
            with contextlib.suppress(OSError):  # a request left unsent in the buffer of a dead pipe
                process.stdin.close()
            process.stdout.close()

    def _send(self, request: bytes) -> None:
        """Hand a request to the server, starting it first if needed; a server found dead since its
        last job (nothing of this request ran yet) is replaced once."""
        for attempt in (1, 2):
            process = self._ensure_started()
            try:
                process.stdin.write(request)
                process.stdin.flush()
                return
            except BrokenPipeError:
                self.stop()
                if attempt == 2:
                    raise PermanentError("the render server died", code=ErrorCode.RENDER_CRASHED) from None

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._buffer = b""
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-m", "sequoia_thumbnails.render_server"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=render_environment(), cwd="/",
            close_fds=True, start_new_session=True,
        )
        config = {"parent": os.getpid(), "path": [entry or os.getcwd() for entry in sys.path],
                  "preload": list(self._warm_up)}
        self._process.stdin.write(json.dumps(config).encode() + b"\n")
        self._process.stdin.flush()
        try:
            self._read_line(time.monotonic() + _START_TIMEOUT)
        except _Deadline:
            self.stop()
            raise RuntimeError("the render server did not start") from None
        return self._process

    def _kill_current(self, job: int) -> None:
        """Kill the job at its deadline and read the server's report of it; replace a silent server."""
        if self.current_job is None:  # not even forked yet: the server itself is stuck
            self.stop()
            return
        _kill_group(self.current_job)
        try:
            self._read_result(job, time.monotonic() + _REPORT_GRACE)
        except _Deadline:
            self.stop()

    def _read_header(self, job: int, deadline: float) -> dict[str, Any]:
        header = json.loads(self._read_line(deadline))
        if header.get("job") != job:
            self.stop()
            raise PermanentError("the render server lost track of its jobs", code=ErrorCode.RENDER_CRASHED)
        return header

    def _read_result(self, job: int, deadline: float) -> tuple[int, bytes]:
        header = self._read_header(job, deadline)
        while len(self._buffer) < header["size"]:
            self._fill(deadline)
        body, self._buffer = self._buffer[: header["size"]], self._buffer[header["size"]:]
        return header["status"], body

    def _read_line(self, deadline: float) -> bytes:
        while b"\n" not in self._buffer:
            self._fill(deadline)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0 or not select.select([self._process.stdout], [], [], remaining)[0]:
                raise _Deadline
            chunk = os.read(self._process.stdout.fileno(), 1 << 16)
        except (AttributeError, ValueError, OSError):  # stopped meanwhile (a signal handler): pipes closed
            chunk = b""
        if not chunk:
            self.stop()
            raise PermanentError("the render server died", code=ErrorCode.RENDER_CRASHED)
        self._buffer += chunk


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _outcome(status: int, body: bytes, timeout: float) -> Any:
    """The job's result, or the error its JSON or its end says."""
    if not body:
        if os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status))
            if sig in _OUT_OF_TIME:
                raise PermanentError(f"rendering used more than {timeout:g} s of CPU", code=ErrorCode.TIMEOUT)
            raise PermanentError(f"the renderer died of {sig.name}", code=ErrorCode.RENDER_CRASHED)
        raise PermanentError(f"the renderer exited with status {os.waitstatus_to_exitcode(status)} and no result",
                             code=ErrorCode.RENDER_CRASHED)
    outcome = json.loads(body)
    if "ok" in outcome:
        return outcome["ok"]
    code, message = outcome["error"]
    raise error_for(code, message)


_servers: dict[int, RenderServer] = {}


def server() -> RenderServer:
    """This process's render server, with the engines loaded (a forked process gets its own: a server
    serves its parent only)."""
    if os.getpid() not in _servers:
        _servers[os.getpid()] = RenderServer(warm_up=(ENGINES,))
    return _servers[os.getpid()]


def run(target: str, payload: dict[str, Any], *, timeout: float, memory_bytes: int | None = None) -> Any:
    """`RenderServer.run` on this process's server."""
    return server().run(target, payload, timeout=timeout, memory_bytes=memory_bytes)
