"""The `sequoia` CLI against a real API server and worker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.factories import jpeg_bytes, png_bytes, truncated_jpeg
from tests.support.services import TEST_TOKEN

SEQUOIA = str(Path(sys.executable).with_name("sequoia"))


@pytest.fixture
def run(api_server, workdir):
    def sequoia(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "SEQUOIA_API_TOKEN": TEST_TOKEN}
        return subprocess.run([SEQUOIA, "--api-url", api_server, *args], capture_output=True, text=True,
                              env=env, cwd=workdir, timeout=120)

    return sequoia


def test_ingest_a_directory_and_wait(run, thumbnails_worker, tmp_path, voyage):
    (tmp_path / "nested").mkdir()
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(640, 480))
    (tmp_path / "nested" / "b.png").write_bytes(png_bytes())

    result = run("--json", "ingest", str(tmp_path), "--voyage", voyage, "--wait")

    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert sorted(i["original_filename"] for i in items) == ["a.jpg", "b.png"]
    assert {i["status"] for i in items} == {"completed"}


def test_ingest_exits_non_zero_when_an_item_fails(run, thumbnails_worker, tmp_path, voyage):
    (tmp_path / "broken.jpg").write_bytes(truncated_jpeg())

    result = run("ingest", str(tmp_path), "--voyage", voyage, "--wait")

    assert result.returncode == 1
    assert "corrupt_file" in result.stdout


def test_ingest_ends_with_a_signed_gallery_link_without_the_token(run, api_server, tmp_path, voyage):
    (tmp_path / "a.png").write_bytes(png_bytes())

    result = run("ingest", str(tmp_path), "--voyage", voyage)
    link = re.search(r"gallery \(read-only, until [^)]+\): (\S+)", result.stderr)

    assert result.returncode == 0 and link and TEST_TOKEN not in result.stderr + result.stdout
    opened = httpx.get(link[1], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/voyages/{voyage}"


def test_status_stats_workers_and_retry(run, thumbnails_worker, tmp_path, voyage):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(320, 200))
    assert run("ingest", str(tmp_path), "--voyage", voyage, "--wait").returncode == 0

    status = json.loads(run("--json", "status", voyage).stdout)
    stats = json.loads(run("--json", "stats", "--window", "1h").stdout)
    workers = run("--json", "workers")
    retry = json.loads(run("--json", "retry-failed", "--voyage", voyage, "--dry-run").stdout)
    rerender = json.loads(run("--json", "rerender-stale", "--voyage", voyage, "--dry-run").stdout)

    assert status["counts_by_state"] == {"completed": 1}
    assert stats["window"]["completed"] >= 1
    assert workers.returncode == 0 and json.loads(workers.stdout)["queues"]["thumbnails"]["workers_online"] >= 1
    assert retry == {"dry_run": True, "count": 0, "items": []}
    assert rerender == {"dry_run": True, "count": 0, "items": []}  # rendered under the current recipes


def test_cancel_of_an_unknown_task_reports_the_error_code(run):
    result = run("cancel", "00000000-0000-0000-0000-000000000000")

    assert result.returncode == 2
    assert "not_found" in result.stderr


def test_a_wrong_token_is_refused(api_server, workdir, tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes())
    env = {**os.environ, "SEQUOIA_API_TOKEN": "wrong"}
    result = subprocess.run([SEQUOIA, "--api-url", api_server, "ingest", str(tmp_path), "--voyage", "v"],
                            capture_output=True, text=True, env=env, cwd=workdir, timeout=60)

    assert result.returncode == 2 and "unauthorized" in result.stderr
