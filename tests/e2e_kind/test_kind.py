"""The whole system on a kind cluster: images built and loaded, KEDA and the chart installed, media
ingested through the API, KEDA scaling worker-thumbnails up under a few hundred queued tasks and back
down, a worker scaled by hand, `helm test`, teardown. Needs docker and kind: `make kind-test`."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import jpeg_bytes, png_bytes

ROOT = Path(__file__).resolve().parents[2]
CLUSTER, NAMESPACE, RELEASE, TAG = "sequoia-e2e", "sequoia", "sequoia", "e2e"
API = "http://127.0.0.1:8080"  # kind-config.yaml maps the API's NodePort 30080 here
IMAGES = ("api", "worker-thumbnails", "worker-media", "flower")
THUMBNAILS = f"{RELEASE}-worker-thumbnails"


def _missing() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "no docker daemon answers (`docker info` fails)"
    for tool in ("kind", "helm", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH" + (" (make helm puts it in bin/)" if tool != "kind" else "")
    return None


pytestmark = [
    pytest.mark.skipif(_missing() is not None, reason=f"kind test needs docker and kind: {_missing()}"),
    pytest.mark.skipif(os.environ.get("SEQUOIA_KIND_TESTS") != "1",
                       reason="creates a kind cluster (10+ minutes): run `make kind-test`"),
    pytest.mark.timeout(3600),
]


def sh(*args: str, timeout: float = 900, check: bool = True) -> str:
    """Run a command, print it, return its stdout; a failure shows its output."""
    print("$", " ".join(args), flush=True)
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def kubectl(*args: str, **kw) -> str:
    """kubectl in the release's namespace."""
    return sh("kubectl", "--context", f"kind-{CLUSTER}", "-n", NAMESPACE, *args, **kw)


def eventually(what: str, check: Callable[[], bool], timeout: float, every: float = 5) -> None:
    """Wait until `check()` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A kind cluster with the images, KEDA and the chart; deleted afterwards."""
    sh("kind", "create", "cluster", "--name", CLUSTER, "--config", "kind-config.yaml", "--wait", "180s")
    try:
        sh("docker/build-images.sh", TAG, timeout=3600)
        for image in IMAGES:
            sh("kind", "load", "docker-image", "--name", CLUSTER, f"sequoia-{image}:{TAG}")
        keda_chart = os.environ.get("KEDA_CHART", "kedacore/keda")
        if keda_chart == "kedacore/keda":
            sh("helm", "repo", "add", "kedacore", "https://kedacore.github.io/charts", "--force-update")
        sh("helm", "--kube-context", f"kind-{CLUSTER}", "install", "keda", keda_chart, "--namespace", "keda",
           "--create-namespace", "--wait", "--timeout", "10m")
        sh("helm", "--kube-context", f"kind-{CLUSTER}", "install", RELEASE, "charts/sequoia", "--namespace",
           NAMESPACE, "--create-namespace", "--values", "tests/e2e_kind/kind-values.yaml", "--wait",
           "--timeout", "15m")
        yield
    finally:
        if os.environ.get("SEQUOIA_KIND_KEEP") != "1":
            sh("kind", "delete", "cluster", "--name", CLUSTER, check=False)


@pytest.fixture(scope="module")
def api(cluster) -> Iterator[httpx.Client]:
    """The API through the NodePort, with the release's token."""
    token = base64.b64decode(kubectl("get", "secret", RELEASE, "-o", "jsonpath={.data.api-token}")).decode()
    with httpx.Client(base_url=API, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        eventually("API ready", lambda: _ok(client, "/readyz"), 180)
        yield client


def _ok(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.HTTPError:
        return False


def _replicas(deployment: str) -> tuple[int, int]:
    status = json.loads(kubectl("get", "deployment", deployment, "-o", "json"))
    return status["spec"].get("replicas", 1), status["status"].get("readyReplicas", 0)


def _ingest(api: httpx.Client, voyage: str, files: list[tuple[str, bytes]]) -> list[str]:
    answer = api.post(f"/api/voyages/{voyage}/media", files=[("files", f) for f in files])
    assert answer.status_code == 202, answer.text
    return [f["media_id"] for f in answer.json()["files"]]


def test_ingest_through_the_api_makes_derivatives(api):
    media_id = _ingest(api, "kind-smoke", [("harbour.jpg", jpeg_bytes(1600, 1200))])[0]

    eventually("derivatives of the JPEG", lambda: api.get(f"/api/media/{media_id}").json()["status"] == "completed",
               180)
    assert {d["name"] for d in api.get(f"/api/media/{media_id}").json()["derivatives"]} >= {"preview", "thumbnail"}


def test_keda_scales_thumbnails_up_under_load_and_back_down(api):
    minimum = _replicas(THUMBNAILS)[0]
    for batch in range(15):  # 300 small images, 20 per request
        _ingest(api, "kind-load", [(f"p{batch}-{i}.png", png_bytes(64, 48)) for i in range(20)])

    eventually("KEDA adds thumbnails workers", lambda: _replicas(THUMBNAILS)[0] > minimum, 300)
    eventually("every item is done", lambda: _all_done(api), 900, every=10)
    eventually("KEDA removes the extra workers", lambda: _replicas(THUMBNAILS)[0] == minimum, 600, every=10)


def _all_done(api: httpx.Client) -> bool:
    status = api.get("/api/async/media-processing-status/kind-load").json()
    return status["total"] == 300 and status["progress_percent"] >= 100


def test_kubectl_scale_works_with_keda_paused(cluster):
    media = f"{RELEASE}-worker-media"
    kubectl("annotate", "scaledobject", media, "autoscaling.keda.sh/paused-replicas=2", "--overwrite")
    eventually("KEDA holds worker-media at 2", lambda: _replicas(media) == (2, 2), 300)

    kubectl("scale", "deployment", media, "--replicas=3")
    eventually("kubectl scale to 3 sticks", lambda: _replicas(media) == (3, 3), 300)
    kubectl("annotate", "scaledobject", media, "autoscaling.keda.sh/paused-replicas-")


def test_worker_health_shows_replicas_read_under_a_read_only_role(api):
    deployments = api.get("/api/async/worker-health").json()["deployments"]

    assert set(deployments) == {THUMBNAILS, f"{RELEASE}-worker-media"}
    assert all(d["desired"] >= 1 and d["ready"] >= 1 for d in deployments.values()), deployments
    denied = kubectl("auth", "can-i", "patch", "deployments", f"--as=system:serviceaccount:{NAMESPACE}:{RELEASE}-api",
                     check=False)
    assert denied.strip() == "no"


def test_helm_test_passes(cluster):
    sh("helm", "--kube-context", f"kind-{CLUSTER}", "test", RELEASE, "--namespace", NAMESPACE, "--timeout", "10m",
       "--logs")
