"""A pool process terminated mid-render (a cancel's revoke) cleans up before it dies of the signal;
a new one removes what a killed predecessor left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sequoia_thumbnails import process_hooks, workdirs
from tests.support.processes import gone, wait_for

_POOL_PROCESS = textwrap.dedent("""
    import sys
    from sequoia_thumbnails import process_hooks, sandbox, workdirs
    process_hooks.start_pool_process()
    with workdirs.job_directory() as folder:
        (folder / "original.pdf").write_bytes(b"%PDF-1.4")
        print(folder, flush=True)
        sandbox.run("tests.unit.sandbox_targets:hang", {"marker": sys.argv[1]}, timeout=120)
""")


def test_terminated_mid_render_it_removes_its_folder_and_render_processes(tmp_path):
    marker = tmp_path / "pids"
    pool = subprocess.Popen([sys.executable, "-c", _POOL_PROCESS, str(marker)], stdout=subprocess.PIPE, text=True)
    folder = Path(pool.stdout.readline().strip())
    wait_for(lambda: marker.exists() and len(marker.read_text().split()) == 2, 30, "the job and its child")
    render_pids = [int(pid) for pid in marker.read_text().split()]

    pool.send_signal(signal.SIGTERM)

    assert pool.wait(10) == -signal.SIGTERM  # it still dies of the signal, as Celery expects
    assert not folder.exists()
    assert all(gone(pid) for pid in render_pids)


def test_a_new_process_removes_folders_whose_owner_is_gone(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    left_behind = workdirs.root() / f"{dead.pid}-killed"
    left_behind.mkdir()
    (left_behind / "original.jpg").write_bytes(b"\xff\xd8")
    ours = workdirs.root() / f"{os.getpid()}-live"
    ours.mkdir()
    try:
        process_hooks.remove_stale_workdirs()

        assert not left_behind.exists()
        assert ours.exists()
    finally:
        ours.rmdir()
