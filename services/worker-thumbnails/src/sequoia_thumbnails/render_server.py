"""The render server: `python -I -m sequoia_thumbnails.render_server`, started by `sandbox`.

It is started with an empty environment and no inherited descriptors beyond its three standard
streams, so it never holds a secret of the worker. It loads the engines once, gives up every
capability, refuses itself every socket and any tracing, and then forks one job per request: a
job inherits the loaded libraries and nothing else. Each job runs in its own process group, dies
with the server (which dies with the worker process that started it) and writes its result as
JSON to a pipe.

Protocol on stdin/stdout, one JSON line each way:
    in:  {"parent": pid, "path": [...], "preload": ["module:function", ...]}  (once, at start)
    out: {"ready": pid}
    in:  {"job": n, "target": "module:function", "payload": {...}, "timeout": s, "memory_bytes": n}
    out: {"job": n, "pid": pid}                     as soon as the job is forked
    out: {"job": n, "status": wait_status, "size": n}, then `size` bytes of the job's JSON result
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import traceback
from typing import Any, BinaryIO

from sequoia_core.errors import ErrorCode, SequoiaError
from sequoia_thumbnails import confine

# A result larger than this is not a render's: the job is killed and reported as crashed.
MAX_RESULT_BYTES = 64 * 1024**2
_READ_CHUNK = 1 << 16
_live_jobs: set[int] = set()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _on_terminate(signum: int, frame: Any) -> None:
    """The worker process ended (parent-death signal) or asked us to stop: take every job along."""
    for pid in list(_live_jobs):
        _kill_group(pid)
    os._exit(0)


def _send(out: BinaryIO, header: dict[str, Any], body: bytes = b"") -> None:
    out.write(json.dumps(header).encode() + b"\n" + body)
    out.flush()


def _target(name: str) -> Any:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _outcome(request: dict[str, Any]) -> bytes:
    """The JSON the job sends back: its result, or its error's stable code and message."""
    try:
        outcome: dict[str, Any] = {"ok": _target(request["target"])(request["payload"])}
    except SequoiaError as err:
        outcome = {"error": [str(err.code), err.message]}
    except MemoryError:
        outcome = {"error": [ErrorCode.RENDER_CRASHED.value, "the renderer ran out of memory"]}
    except Exception as err:  # an unforeseen decoder error: report it, the worker decides
        detail = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}"
        outcome = {"error": [ErrorCode.INTERNAL.value, detail]}
    try:
        return json.dumps(outcome, allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        return json.dumps({"error": [ErrorCode.INTERNAL.value, f"result is not JSON: {err}"]}).encode()


def _job(request: dict[str, Any], server_pid: int, write_fd: int) -> None:
    """Body of a forked job: never returns, always leaves with `os._exit`."""
    status = 0
    try:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        confine.die_with_parent(signal.SIGKILL, server_pid)
        # stdout is the protocol: whatever a library prints goes to stderr; stdin is not the job's.
        os.dup2(2, 1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        confine.limit_resources(request["timeout"], request.get("memory_bytes"))
        view = memoryview(_outcome(request))
        while view:
            view = view[os.write(write_fd, view):]
    except BaseException:  # noqa: BLE001 - a job must never fall back into the server's loop
        status = 70
    finally:
        os._exit(status)


def _collect(read_fd: int, pid: int) -> bytes:
    """Everything the job wrote, up to `MAX_RESULT_BYTES` (past it the job's group is killed)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(read_fd, _READ_CHUNK):
        size += len(chunk)
        if size > MAX_RESULT_BYTES:
            _kill_group(pid)
            return b""
        chunks.append(chunk)
    return b"".join(chunks)


def _serve(request: dict[str, Any], out: BinaryIO) -> None:
    try:
        _target(request["target"])  # import the target here, once, so every later job inherits it
    except Exception:  # noqa: BLE001 - the job imports it again and reports the error with a code
        pass
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _job(request, os.getppid(), write_fd)
    os.close(write_fd)
    _live_jobs.add(pid)
    _send(out, {"job": request["job"], "pid": pid})
    try:
        result = _collect(read_fd, pid)
    finally:
        os.close(read_fd)
    _, wait_status = os.waitpid(pid, 0)
    _live_jobs.discard(pid)
    _kill_group(pid)  # what the job started and left behind (ffmpeg) goes with it
    _send(out, {"job": request["job"], "status": wait_status, "size": len(result)}, result)


def main() -> None:
    """Read the start line, confine this process, then serve jobs until stdin closes."""
    source, out = sys.stdin.buffer, sys.stdout.buffer
    config = json.loads(source.readline())
    signal.signal(signal.SIGTERM, _on_terminate)
    confine.die_with_parent(signal.SIGTERM, config["parent"])
    sys.path[:0] = [entry for entry in config["path"] if entry not in sys.path]
    for warm_up in config["preload"]:
        _target(warm_up)()
    confine.drop_capabilities()
    confine.deny_network_and_tracing()
    _send(out, {"ready": os.getpid()})
    while line := source.readline():
        _serve(json.loads(line), out)
    _on_terminate(signal.SIGTERM, None)


if __name__ == "__main__":
    main()
