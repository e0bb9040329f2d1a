"""deploy/compose: the full stack comes up with podman-compose on the chart's images, Redis carries the
seed's tuning (maxmemory, noeviction), and one file of each media kind completes through its API."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from scripts.devstack.seaweed import free_port
from tests.chart_runtime.release import ROOT
from tests.containers.media import sample_files
from tests.containers.podman import engine_env
from tests.support import services

STACK = ROOT / "deploy" / "compose" / "stack.yml"
pytestmark = pytest.mark.timeout(900)


def _compose(project: str, env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    assert shutil.which("podman-compose"), "podman-compose is missing: apt-get install podman-compose"
    return subprocess.run(["podman-compose", "--podman-args=--runtime runc", "--podman-run-args=--ulimit host",
                           "-p", project, "-f", str(STACK), *args], env={**engine_env(), **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def stack(built) -> Iterator[dict[str, str]]:
    """The compose stack with fresh secrets and free host ports (other stacks may hold the defaults)."""
    project = f"sequoia-compose-{secrets.token_hex(3)}"
    env = {"SEQUOIA_API_TOKEN": secrets.token_urlsafe(24), "REDIS_PASSWORD": secrets.token_urlsafe(24),
           "POSTGRES_PASSWORD": secrets.token_urlsafe(24), "FLOWER_PASSWORD": secrets.token_urlsafe(24),
           "S3_ACCESS_KEY_ID": "compose" + secrets.token_hex(4), "S3_SECRET_ACCESS_KEY": secrets.token_urlsafe(24),
           "API_PORT": str(free_port()), "FLOWER_PORT": str(free_port()), "REDIS_PORT": str(free_port()),
           "S3_PORT": str(free_port()), "SEQUOIA_TAG": "0.1.0"}
    env["S3_PUBLIC_ENDPOINT_URL"] = f"http://127.0.0.1:{env['S3_PORT']}"
    try:
        up = _compose(project, env, "up", "-d")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield {**env, "project": project}
    finally:
        logs = _compose(project, env, "logs", timeout=120)
        print(f"\n--- compose logs (tail) ---\n{(logs.stdout + logs.stderr)[-4000:]}")
        _compose(project, env, "down", "-v", timeout=300)
        # podman-compose 1.0 leaves the project's network behind.
        subprocess.run(["podman", "network", "rm", "--force", f"{project}_default"], env=engine_env(),
                       capture_output=True, timeout=60)


def test_redis_has_the_seeds_tuning(stack):
    done = subprocess.run(["podman", "--runtime", "runc", "exec", f"{stack['project']}_redis_1", "redis-cli",
                           "CONFIG", "GET", "maxmemory*"], env=engine_env(), capture_output=True, text=True,
                          timeout=60)

    settings = dict(zip(done.stdout.split()[::2], done.stdout.split()[1::2]))
    assert settings["maxmemory"] == str(256 * 1024**2) and settings["maxmemory-policy"] == "noeviction", done


def test_each_media_kind_completes_through_the_compose_stack(stack, tmp_path):
    api_url = f"http://127.0.0.1:{stack['API_PORT']}"
    services.wait_url(api_url + "/readyz", 240)
    files = sample_files(tmp_path)
    with httpx.Client(base_url=api_url, timeout=60,
                      headers={"Authorization": f"Bearer {stack['SEQUOIA_API_TOKEN']}"}) as api:
        answer = api.post(f"/api/voyages/compose-{secrets.token_hex(3)}/media",
                          files=[("files", (p.name, p.read_bytes())) for p in files.values()])
        assert answer.status_code == 202, answer.text
        finals = [services.wait_until_final(lambda path: api.get(path).json(), item["media_id"], 300, 1.0)
                  for item in answer.json()["files"]]

    assert [(f["status"], bool(f["derivatives"])) for f in finals] == [("completed", True)] * len(files), finals


def test_flower_answers_behind_its_password(stack):
    url = f"http://127.0.0.1:{stack['FLOWER_PORT']}"
    services.wait_url(url + "/healthcheck", 240)

    assert httpx.get(url + "/workers", timeout=10).status_code == 401
    assert httpx.get(url + "/workers", auth=("admin", stack["FLOWER_PASSWORD"]), timeout=10).status_code == 200

