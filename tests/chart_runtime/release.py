"""`helm install` without a cluster: render the chart, build the images it names, stand in for what a
values file puts outside the release, then start Helm's phases in order on kubelet.py's Podman pods."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import yaml

from scripts import k8s_tools
from tests.chart_runtime import kubelet, manifest
from tests.chart_runtime.manifest import Container, Mount, Pod, Probe
from tests.containers import podman

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "sequoia"
RELEASE = NAMESPACE = "sequoia"
STANDINS = Path(__file__).with_name("standins")
# The cluster these renders are for serves KEDA's API (as `helm install` on it would see).
API_VERSIONS = ("keda.sh/v1alpha1",)
SEAWEEDFS_IMAGE = "docker.io/chrislusf/seaweedfs:3.80"


def render(values: Path | None) -> list[dict]:
    """`helm template` of the chart with a values file (None: the defaults)."""
    args = [str(k8s_tools.ensure("helm")), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += [arg for version in API_VERSIONS for arg in ("--api-versions", version)]
    if values is not None:
        args += ["--values", str(values)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
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
    rendered.add(SEAWEEDFS_IMAGE)
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


def _platform_s3(cluster: kubelet.Cluster) -> dict[str, str]:
    """Default values use AWS S3 through a workload identity. Here a SeaweedFS pod in its own namespace
    plays AWS, and the env that the identity webhook would inject (endpoint, credentials) is added."""
    key, secret = "platform-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    config = {"identities": [{"name": "platform", "credentials": [{"accessKey": key, "secretKey": secret}],
                              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    pod = Pod(name="aws-s3-0", kind="Pod", workload="aws-s3", labels={}, phase="platform", weight=0,
              grace_seconds=10, restart_policy="Always", containers=[Container(
                  name="s3", image=SEAWEEDFS_IMAGE, command=None,
                  args=["-logtostderr=true", "server", "-dir=/data", "-ip.bind=0.0.0.0", "-volume.max=0",
                        "-master.volumeSizeLimitMB=256", "-s3", "-s3.port=8333", "-s3.config=/etc/s3/s3.json"],
                  env={}, mounts=[Mount("/data", "persistent", volume="data"), Mount("/tmp", "emptyDir", volume="tmp"),
                                  Mount("/etc/s3", "files", True, files={"s3.json": json.dumps(config).encode()},
                                        volume="config")],
                  user=1000, group=1000, fs_group=1000, read_only_root=True, drop_caps=["ALL"],
                  no_new_privileges=True, memory_limit=None, ports={"s3": 8333},
                  probes=[Probe("readinessProbe", "tcpSocket", port=8333)])])
    kubelet.start_pod(cluster, pod, namespace="aws")
    kubelet.wait_ready(cluster, pod)
    endpoint = f"http://{cluster.address(pod.name)}:8333"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                          region_name="us-east-1")
    deadline = time.monotonic() + 60
    while True:  # the S3 port opens before the filer behind it answers
        try:
            client.create_bucket(Bucket="sequoia-media")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    return {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}


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
        kubelet.start_pod(cluster, pod)
    for pod in release:
        kubelet.wait_ready(cluster, pod)


def install(values: Path | None, workdir: Path, platform_s3: bool) -> Release:
    """Render, stand in for the outside world, then pre-install hooks, the release, post-install hooks."""
    docs = render(values)
    cluster = kubelet.Cluster(NAMESPACE, workdir)
    cluster.create_network()
    try:
        return _install(Release(cluster, docs, manifest.pods(docs, NAMESPACE)), platform_s3)
    except BaseException:
        cluster.teardown()
        raise


def _install(release: Release, platform_s3: bool) -> Release:
    cluster = release.cluster
    started = time.monotonic()
    if platform_s3:
        release.platform_env = _platform_s3(cluster)
        for pod in release.pods:
            for container in pod.containers:
                if "/sequoia-" in f"/{container.image}" and container.name != "ingest":
                    container.env.update(release.platform_env)
    kubelet.start_services(cluster, manifest.services(release.docs, release.pods))
    for phase in manifest.PHASES:
        began = time.monotonic()
        _start_phase(cluster, [p for p in release.pods if p.phase == phase])
        release.timings[phase] = time.monotonic() - began
    release.timings["install"] = time.monotonic() - started
    return release
