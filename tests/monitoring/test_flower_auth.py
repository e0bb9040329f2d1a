"""Flower, started the way the local stack starts it, never answers its pages, API or metrics
without the basic-auth credentials, and answers them with them."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.monitoring import support
from tests.monitoring.conftest import monitoring_redis_url
from tests.support import services
from tests.support.services import ROOT

pytestmark = pytest.mark.integration

PROTECTED = ("/", "/workers", "/tasks", "/api/workers", "/api/tasks", "/api/task/types", "/metrics")


@pytest.fixture(scope="module")
def flower(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A running Flower on a free port; yields its URL and password."""
    workdir = tmp_path_factory.mktemp("flower")
    password = secrets.token_urlsafe(12)
    process, url = support.start_flower({"REDIS_URL": monitoring_redis_url()}, workdir, password)
    try:
        services.wait_http(f"{url}/healthcheck", process)
        yield url, password
    finally:
        services.stop_worker(process)


@pytest.mark.parametrize("path", PROTECTED)
def test_without_credentials_flower_refuses(flower: tuple[str, str], path: str) -> None:
    url, _ = flower
    assert httpx.get(f"{url}{path}", timeout=10).status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
def test_with_a_wrong_password_flower_refuses(flower: tuple[str, str], path: str) -> None:
    url, _ = flower
    assert httpx.get(f"{url}{path}", auth=("admin", "not-the-password"), timeout=10).status_code == 401


def test_with_the_credentials_the_api_and_metrics_answer(flower: tuple[str, str]) -> None:
    url, password = flower
    auth = ("admin", password)
    assert httpx.get(f"{url}/api/workers", auth=auth, timeout=10).status_code == 200
    metrics = httpx.get(f"{url}/metrics", auth=auth, timeout=10)
    assert metrics.status_code == 200 and "flower_" in metrics.text


def test_a_write_through_the_api_needs_credentials_too(flower: tuple[str, str]) -> None:
    url, _ = flower
    response = httpx.post(f"{url}/api/task/async-apply/media.relay_outbox", json={}, timeout=10)
    assert response.status_code in (401, 403)


def test_only_the_bare_healthcheck_is_open(flower: tuple[str, str]) -> None:
    url, _ = flower
    response = httpx.get(f"{url}/healthcheck", timeout=10)
    assert (response.status_code, response.text) == (200, "OK")


def test_flower_does_not_start_without_a_password(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    script = shutil.copy2(ROOT / "scripts" / "start_celery_flower.sh", scripts / "start_celery_flower.sh")
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_PASSWORD"}
    result = subprocess.run([script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "FLOWER_PASSWORD" in result.stderr


def test_the_password_is_on_no_command_line(flower: tuple[str, str]) -> None:
    """`ps` shows every process's arguments to every user: the password must not be among them."""
    _, password = flower
    exposed = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except (FileNotFoundError, ProcessLookupError):
            continue
        if password.encode() in cmdline:
            exposed.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    assert exposed == []
