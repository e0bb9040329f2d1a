"""Jobs the sandbox tests ask the render server to run (imported there by name, as "module:function")."""

from __future__ import annotations

import faulthandler
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sequoia_core.errors import ErrorCode, PermanentError, TransientError


def answer(payload: dict[str, Any]) -> dict[str, Any]:
    return {"pid": os.getpid(), "parent": os.getppid(), "answer": 42}


def large(payload: dict[str, Any]) -> str:
    return "x" * payload["size"]


def fail(payload: dict[str, Any]) -> None:
    if payload["transient"]:
        raise TransientError("s3 away", code=ErrorCode.STORAGE_UNAVAILABLE)
    raise PermanentError("bad file", code=ErrorCode.CORRUPT_FILE)


def hang(payload: dict[str, Any]) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    Path(payload["marker"]).write_text(f"{os.getpid()} {sleeper.pid}")
    time.sleep(60)


def spin(payload: dict[str, Any]) -> None:
    while True:
        pass


def crash(payload: dict[str, Any]) -> None:
    faulthandler.disable()
    os.kill(os.getpid(), signal.SIGSEGV)


def allocate(payload: dict[str, Any]) -> int:
    return len(bytearray(payload["size"]))


def divide(payload: dict[str, Any]) -> float:
    return 1 / 0


def environment(payload: dict[str, Any]) -> dict[str, str]:
    return dict(os.environ)


def open_descriptors(payload: dict[str, Any]) -> dict[str, str]:
    """Every open descriptor of the job and what it points at."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[name] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:  # the descriptor listdir itself used
            continue
    return fds


def connect(payload: dict[str, Any]) -> str:
    """Try to reach a service: by TCP (`host`, `port`) or by a Unix socket (`path`)."""
    try:
        if "path" in payload:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(payload["path"])
        else:
            socket.create_connection((payload["host"], payload["port"]), timeout=3).close()
    except OSError as err:
        return f"refused: {err}"
    return "connected"


def modules_added_by_render(payload: dict[str, Any]) -> list[str]:
    """What rendering one file imports in a job forked from the warm render server."""
    from sequoia_thumbnails import render_entry

    before = set(sys.modules)
    render_entry.render(payload)
    return sorted(set(sys.modules) - before)


def audio_growth_kib(payload: dict[str, Any]) -> int:
    """How much a fresh job's peak RSS grows while the audio engine renders `source`."""
    import resource

    from sequoia_core.mediatypes import format_named
    from sequoia_thumbnails.renderers.audio import AudioRenderer
    from sequoia_thumbnails.renderers.base import RenderSpec

    renderer = AudioRenderer(RenderSpec(time_limit_seconds=60))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    renderer.render(Path(payload["source"]), format_named("wav"), Path(payload["out_dir"]))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before


def peek_at(payload: dict[str, Any]) -> dict[str, str]:
    """Try every way into the process `pid` (the worker): its environment, its memory, tracing it;
    and report this job's own effective capabilities."""
    import ctypes

    pid = payload["pid"]
    found = {}
    try:
        found["environ"] = f"read {len(Path(f'/proc/{pid}/environ').read_bytes())} bytes"
    except OSError as err:
        found["environ"] = f"refused: {err}"
    try:  # opening is the access check; reading then needs a mapped address
        with open(f"/proc/{pid}/mem", "rb"):
            found["mem"] = "opened"
    except OSError as err:
        found["mem"] = f"refused: {err}"
    libc = ctypes.CDLL(None, use_errno=True)
    ptrace_attach, sys_ptrace = 16, 101  # x86-64
    if libc.syscall(sys_ptrace, ptrace_attach, pid, 0, 0) == 0:
        found["ptrace"] = "attached"
    else:
        found["ptrace"] = f"refused: {os.strerror(ctypes.get_errno())}"
    status = Path("/proc/self/status").read_text()
    found["capabilities"] = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:"))
    return found
