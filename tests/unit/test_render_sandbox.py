"""The sandbox: results and errors come back as JSON; a hang or a crash fails the item, never the
caller; the renderer holds no secret, no inherited descriptor and no network, and dies with its parent."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from sequoia_core.errors import ErrorCode, PermanentError, TransientError
from sequoia_thumbnails import sandbox
from sequoia_thumbnails.sandbox import RenderServer
from tests.support.processes import gone, wait_for

TARGETS = "tests.unit.sandbox_targets"


def run(name: str, payload: dict | None = None, timeout: float = 20, **limits):
    return sandbox.run(f"{TARGETS}:{name}", payload or {}, timeout=timeout, **limits)


def test_returns_the_jobs_result_from_another_process():
    result = run("answer")

    assert result["answer"] == 42
    assert result["pid"] != os.getpid()
    assert result["parent"] != os.getpid()  # a job is the render server's child, not ours


def test_large_results_cross_the_pipe():
    assert len(run("large", {"size": 8 << 20})) == 8 << 20


def test_permanent_and_transient_errors_keep_their_code_and_class():
    with pytest.raises(PermanentError) as bad:
        run("fail", {"transient": False})
    with pytest.raises(TransientError) as away:
        run("fail", {"transient": True})

    assert (bad.value.code, bad.value.message) == (ErrorCode.CORRUPT_FILE, "bad file")
    assert away.value.code == ErrorCode.STORAGE_UNAVAILABLE


def test_a_hang_is_killed_at_the_limit_with_its_subprocesses(tmp_path):
    marker = tmp_path / "pids"

    with pytest.raises(PermanentError) as caught:
        run("hang", {"marker": str(marker)}, timeout=1.0)

    assert caught.value.code == ErrorCode.TIMEOUT
    assert all(gone(int(pid)) for pid in marker.read_text().split())
    assert run("answer")["answer"] == 42  # the server goes on


def test_a_job_has_a_cpu_limit_and_spinning_is_a_timeout():
    with pytest.raises(PermanentError) as caught:
        run("spin", timeout=2.0)

    assert caught.value.code == ErrorCode.TIMEOUT
    assert sandbox.run("resource:getrlimit", resource.RLIMIT_CPU, timeout=7.5) == [8, 9]


def test_a_crash_is_render_crashed():
    with pytest.raises(PermanentError) as caught:
        run("crash")

    assert caught.value.code == ErrorCode.RENDER_CRASHED
    assert "SIGSEGV" in caught.value.message


def test_running_out_of_memory_is_render_crashed():
    with pytest.raises(PermanentError) as caught:
        run("allocate", {"size": 512 * 1024**2}, memory_bytes=64 * 1024**2)

    assert caught.value.code == ErrorCode.RENDER_CRASHED
    assert run("allocate", {"size": 16 * 1024**2}, memory_bytes=64 * 1024**2) == 16 * 1024**2


def test_an_unforeseen_exception_is_internal_and_the_caller_goes_on():
    with pytest.raises(PermanentError) as caught:
        run("divide")

    assert caught.value.code == ErrorCode.INTERNAL
    assert "ZeroDivisionError" in caught.value.message
    assert run("answer")["answer"] == 42


def test_the_renderer_finds_no_secret_in_its_environment(monkeypatch):
    secrets = {"DATABASE_URL": "postgresql://sequoia:hunter2@db/sequoia", "AWS_SECRET_ACCESS_KEY": "s3cr3t-key",
               "REDIS_URL": "redis://:pw@redis:6379/0", "SEQUOIA_API_TOKEN": "token-xyz", "FLOWER_PASSWORD": "fl0wer"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    server = RenderServer()
    try:
        seen = server.run(f"{TARGETS}:environment", {}, timeout=20)
    finally:
        server.stop()

    assert set(seen) <= {"PATH", "LANG", "LC_ALL", "TZ", "LD_LIBRARY_PATH", "VIPS_CONCURRENCY", "OMP_NUM_THREADS",
                         "VIPS_BLOCK_UNTRUSTED", "HOME", "GLIBC_TUNABLES", "LC_CTYPE"}
    assert not any(secret in json.dumps(seen) for secret in secrets.values())
    assert seen["VIPS_BLOCK_UNTRUSTED"] == "1"


def test_the_renderer_inherits_no_socket_or_file():
    with socket.create_server(("127.0.0.1", 0)) as listener, open(__file__) as held:
        server = RenderServer()  # started while this process holds a socket and a file
        try:
            fds = server.run(f"{TARGETS}:open_descriptors", {}, timeout=20)
        finally:
            server.stop()
        assert listener.fileno() and held.fileno()

    assert not any(target.startswith("socket:") for target in fds.values()), fds
    assert __file__ not in fds.values()
    assert len(fds) <= 5, fds  # stdin (/dev/null), stdout and stderr, the result pipe


def test_the_renderer_cannot_open_a_socket():
    """Neither TCP (Postgres, Redis, S3) nor a Unix socket: the listener below answers us, not a job."""
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.socket(socket.AF_UNIX) as unix:
        port = listener.getsockname()[1]
        path = f"/tmp/sequoia-sandbox-test-{os.getpid()}.sock"
        unix.bind(path)
        unix.listen()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()  # reachable from here
            answers = [run("connect", {"host": "127.0.0.1", "port": port}), run("connect", {"path": path}),
                       run("connect", {"host": "127.0.0.1", "port": 5432}),
                       run("connect", {"host": "127.0.0.1", "port": 6379})]
        finally:
            os.unlink(path)

    assert all(answer.startswith("refused: [Errno 13]") for answer in answers), answers


_ORPHANED = textwrap.dedent("""
    import sys
    from sequoia_thumbnails.sandbox import RenderServer
    server = RenderServer()
    server.run("tests.unit.sandbox_targets:answer", {}, timeout=20)
    print(server._process.pid, flush=True)
    server.run("tests.unit.sandbox_targets:hang", {"marker": sys.argv[1]}, timeout=120)
""")


def test_the_renderer_dies_with_the_worker_process(tmp_path):
    """The worker process killed outright (a hard time limit, a revoke): the server, the job and
    what the job started end with it."""
    marker = tmp_path / "pids"
    worker = subprocess.Popen([sys.executable, "-c", _ORPHANED, str(marker)], stdout=subprocess.PIPE, text=True,
                              cwd=os.getcwd())
    server_pid = int(worker.stdout.readline())
    wait_for(lambda: marker.exists() and len(marker.read_text().split()) == 2, 30, "the job and its child")

    worker.send_signal(signal.SIGKILL)
    worker.wait()

    assert all(gone(pid) for pid in (server_pid, *map(int, marker.read_text().split())))


def test_stop_ends_the_running_job_and_the_server(tmp_path):
    marker = tmp_path / "pids"
    server = sandbox.server()
    server.run(f"{TARGETS}:answer", {}, timeout=20)
    server_pid = server._process.pid
    child = os.fork()
    if child == 0:  # a stand-in for the signal handler: stop the server from the outside, mid-job
        while not marker.exists() or len(marker.read_text().split()) < 2:
            time.sleep(0.05)
        os.kill(os.getppid(), signal.SIGUSR1)
        os._exit(0)
    signal.signal(signal.SIGUSR1, lambda *_: server.stop())
    try:
        with pytest.raises(PermanentError) as caught:
            server.run(f"{TARGETS}:hang", {"marker": str(marker)}, timeout=60)
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        os.waitpid(child, 0)

    assert caught.value.code == ErrorCode.RENDER_CRASHED
    assert all(gone(pid) for pid in (server_pid, *map(int, marker.read_text().split())))
    assert run("answer")["answer"] == 42  # a new server starts on the next render


def test_a_server_that_died_between_jobs_is_replaced():
    server = RenderServer()
    try:
        first = server.run(f"{TARGETS}:answer", {}, timeout=20)
        os.kill(server._process.pid, signal.SIGKILL)
        assert gone(server._process.pid)

        again = server.run(f"{TARGETS}:answer", {}, timeout=20)
    finally:
        server.stop()

    assert again["parent"] != first["parent"]  # a new server forked it


_WORKER_STAND_IN = textwrap.dedent("""
    import json, os, sys
    from sequoia_thumbnails import confine
    from sequoia_thumbnails.sandbox import RenderServer
    os.environ["DATABASE_URL"] = "postgresql://sequoia:hunter2@db/sequoia"
    confine.drop_capabilities()  # as the chart runs the worker: no capability (here, even as root)
    if sys.argv[1] == "hidden":
        confine.hide_from_other_processes()  # what the worker does at start
    server = RenderServer()
    try:
        print(json.dumps(server.run("tests.unit.sandbox_targets:peek_at", {"pid": os.getpid()}, timeout=20)))
    finally:
        server.stop()
""")


def _peek(mode: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", _WORKER_STAND_IN, mode], capture_output=True, text=True,
                          timeout=120, check=True, cwd=os.getcwd())
    return json.loads(done.stdout)


def test_the_renderer_cannot_look_into_the_worker():
    """Same user, yet no way in: the worker is non-dumpable (its /proc environ and mem are closed to
    others), the job holds no capability (not even as root) and may not trace."""
    hidden = _peek("hidden")

    assert hidden["environ"].startswith("refused: [Errno 13]"), hidden
    assert hidden["mem"].startswith("refused: [Errno 13]"), hidden
    assert hidden["ptrace"] == "refused: Permission denied", hidden
    assert hidden["capabilities"] == "0000000000000000"


def test_without_hiding_the_worker_its_environment_would_be_readable():
    """The control: the same job against a worker that skipped `hide_from_other_processes` reads its
    environment (same user, no capability on either side)."""
    exposed = _peek("exposed")

    assert exposed["environ"].startswith("read "), exposed
    assert exposed["mem"] == "opened", exposed
    assert exposed["ptrace"] == "refused: Permission denied", exposed  # seccomp, whatever the worker does
