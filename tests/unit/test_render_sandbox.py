"""The forked sandbox: results and errors come back, a hang or a crash fails the item, never the caller."""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import time

import pytest

from sequoia_core.errors import ErrorCode, PermanentError, TransientError
from sequoia_thumbnails.sandbox import run_isolated


def test_returns_the_childs_result():
    assert run_isolated(lambda: {"pid": os.getpid(), "answer": 42}, timeout=10)["answer"] == 42
    assert run_isolated(lambda: os.getpid(), timeout=10) != os.getpid()


def test_large_results_cross_the_pipe():
    assert len(run_isolated(lambda: b"x" * (8 << 20), timeout=10)) == 8 << 20


def test_permanent_and_transient_errors_keep_their_code_and_class():
    def permanent():
        raise PermanentError("bad file", code=ErrorCode.CORRUPT_FILE)

    def transient():
        raise TransientError("s3 away", code=ErrorCode.STORAGE_UNAVAILABLE)

    with pytest.raises(PermanentError) as bad:
        run_isolated(permanent, timeout=10)
    with pytest.raises(TransientError) as away:
        run_isolated(transient, timeout=10)

    assert (bad.value.code, bad.value.message) == (ErrorCode.CORRUPT_FILE, "bad file")
    assert away.value.code == ErrorCode.STORAGE_UNAVAILABLE


def test_a_hang_is_killed_at_the_limit_with_its_subprocesses(tmp_path):
    marker = tmp_path / "pid"

    def hang():
        sleeper = subprocess.Popen(["sleep", "60"])
        marker.write_text(str(sleeper.pid))
        time.sleep(60)

    started = time.monotonic()
    with pytest.raises(PermanentError) as caught:
        run_isolated(hang, timeout=1.0)

    assert caught.value.code == ErrorCode.TIMEOUT
    assert time.monotonic() - started < 5
    assert _gone(int(marker.read_text()))


def _gone(pid: int, within: float = 3.0) -> bool:
    """The process has ended (absent, or a zombie waiting for init to reap it)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(") ", 1)[-1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_crash_is_render_crashed():
    with pytest.raises(PermanentError) as caught:
        run_isolated(lambda: (faulthandler.disable(), os.kill(os.getpid(), signal.SIGSEGV)), timeout=10)

    assert caught.value.code == ErrorCode.RENDER_CRASHED
    assert "SIGSEGV" in caught.value.message


def test_running_out_of_memory_is_render_crashed():
    def hog():
        return bytearray(512 * 1024**2)

    with pytest.raises(PermanentError) as caught:
        run_isolated(hog, timeout=20, memory_bytes=64 * 1024**2)

    assert caught.value.code == ErrorCode.RENDER_CRASHED
    assert run_isolated(lambda: len(bytearray(16 * 1024**2)), timeout=20, memory_bytes=64 * 1024**2) == 16 * 1024**2


def test_an_unforeseen_exception_is_internal_and_the_caller_goes_on():
    with pytest.raises(PermanentError) as caught:
        run_isolated(lambda: 1 / 0, timeout=10)

    assert caught.value.code == ErrorCode.INTERNAL
    assert "ZeroDivisionError" in caught.value.message
    assert run_isolated(lambda: "still here", timeout=10) == "still here"
