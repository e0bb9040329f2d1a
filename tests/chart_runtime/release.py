"""`helm install` without a cluster: render the chart, build the images it names, stand in for what a
values file puts outside the release, then start Helm's phases in order on kubelet.py's Podman pods."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from scripts import k8s_tools
from tests.chart_runtime import kubelet, manifest, platform
from tests.chart_runtime.manifest import Pod
from tests.containers import podman

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "sequoia"
RELEASE = NAMESPACE = "sequoia"
STANDINS = Path(__file__).with_name("standins")
# The cluster these renders are for serves KEDA's API (as `helm install` on it would see).
API_VERSIONS = ("keda.sh/v1alpha1",)


def render(values: Path | None) -> list[dict]:
    """`helm template` of the chart with a values file (None: the defaults)."""
    args = [str(k8s_tools.ensure("helm")), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += [arg for version in API_VERSIONS for arg in ("--api-versions", version)]
    if values is not None:
        args += ["--values", str(values)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"helm template failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def build_images(docs: list[dict]) -> None:
    """The four Sequoia images (make test-containers' build, cached layers) and local stand-ins for the
    public Redis, Postgres and SeaweedFS images, each named as the render names it."""
    built = podman.build_images("test")
    standins = {"redis": None, "postgres": None, "seaweedfs": None}
    for name in standins:
        standins[name] = podman.build_file(STANDINS / f"{name}.Dockerfile", f"localhost/sequoia-standin-{name}:test")
    rendered = {c["image"] for d in docs if d.get("kind") in (*manifest.WORKLOADS, "Pod")
                for c in (d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"])["containers"]}
    rendered |= {platform.SEAWEEDFS_IMAGE, platform.REDIS_IMAGE, platform.POSTGRES_IMAGE}
    for image in sorted(rendered):
        repository = image.rsplit("/", 1)[-1].split(":")[0]
        source = built.get(repository.removeprefix("sequoia-")) or standins.get(repository)
        if source is None:
            raise AssertionError(f"no local image stands in for {image}")
        podman.add_names(source, image)


@dataclass
class Release:
    """A release running on Podman: its rendered objects, pods, Services and the platform around it."""

    cluster: kubelet.Cluster
    docs: list[dict]
    pods: list[Pod]
    platform_env: dict[str, str] = field(default_factory=dict)
    redis_cli: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def pod(self, workload: str) -> Pod:
        """The first pod of a workload, by the workload's name without the release prefix."""
        return next(p for p in self.pods if p.workload == f"{RELEASE}-{workload}")

    def secret(self, key: str) -> str:
        """A key of the chart's Secret."""
        return manifest.Objects(self.docs, NAMESPACE).secrets[RELEASE][key].decode()

    def api_url(self) -> str:
        """The API Service, reached from the host through its virtual IP."""
        service = next(s for s in self.cluster.services if s.name == f"{RELEASE}-api")
        return f"http://{self.cluster.address('svc/' + service.name)}:{next(iter(service.ports))}"


def _start_phase(cluster: kubelet.Cluster, phase: list[Pod]) -> None:
    """Hooks one after another by weight, each Job to completion; the release's own pods all at once,
    then waited for as `helm install --wait` does."""
    hooks = [p for p in phase if p.phase != "release"]
    for pod in hooks:
        kubelet.start_pod(cluster, pod)
        if pod.kind == "Job":
            code = kubelet.wait_exit(cluster, pod)
            assert code == 0, f"hook {pod.name} failed:\n{kubelet.logs(cluster, pod, pod.containers[0])}"
    release = [p for p in phase if p.phase == "release"]
    for pod in release:
        cluster.address(pod.name)  # allocated here, not racing in the threads
    # All at once, as the kubelets start them: a pod's init container may wait for another pod.
    with ThreadPoolExecutor(max_workers=max(len(release), 1)) as pool:
        list(pool.map(lambda pod: kubelet.start_pod(cluster, pod), release))
    for pod in release:
        kubelet.wait_ready(cluster, pod)


def _in_chart_redis_cli(release: Release) -> list[str]:
    database = release.secret("redis-url").rsplit("/", 1)[1]
    return ["exec", release.cluster.name(release.pod("redis").name, "redis"), "redis-cli", "-n", database]


def install(values: Path | None, workdir: Path, outside: str | None) -> Release:
    """Render, stand in for the outside world (`outside`: a function of platform.py), then pre-install
    hooks, the release, post-install hooks."""
    docs = render(values)
    cluster = kubelet.Cluster(NAMESPACE, workdir)
    cluster.create_network()
    try:
        given = yaml.safe_load(values.read_text()) if values else {}
        return _install(cluster, docs, outside, _merged(given))
    except BaseException:
        cluster.teardown()
        raise


def _merged(given: dict, defaults: dict | None = None) -> dict:
    """The values Helm computes: the chart's defaults, overridden key by key by the values file."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text()) if defaults is None else defaults
    merged = dict(defaults)
    for key, value in given.items():
        merged[key] = _merged(value, defaults[key]) if isinstance(value, dict) and isinstance(
            defaults.get(key), dict) else value
    return merged


def _install(cluster: kubelet.Cluster, docs: list[dict], outside: str | None, values: dict) -> Release:
    started = time.monotonic()
    supplied = platform.Supplied()
    if outside:
        supplied = getattr(platform, outside)(cluster, values)
    # Objects the user creates before installing (a CA Secret) resolve like the chart's own.
    docs = docs + supplied.objects
    release = Release(cluster, docs, manifest.pods(docs, NAMESPACE), supplied.env)
    release.redis_cli = supplied.redis_cli or _in_chart_redis_cli(release)
    for pod in release.pods:
        for container in pod.containers + pod.init_containers:
            if "/sequoia-" in f"/{container.image}" and container.name != "ingest":
                container.env.update(supplied.env)
                container.mounts += supplied.mounts
    kubelet.start_services(cluster, manifest.services(release.docs, release.pods))
    for phase in manifest.PHASES:
        began = time.monotonic()
        _start_phase(cluster, [p for p in release.pods if p.phase == phase])
        release.timings[phase] = time.monotonic() - began
    release.timings["install"] = time.monotonic() - started
    return release
