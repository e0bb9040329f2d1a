"""Run manifest.py's pods with Podman the way a kubelet and kube-proxy would, without a cluster.

`podman kube play` cannot do it here (Podman 4.3 plays no StatefulSet or Job, resolves no Service and
ignores readiness), so each pod is a pause container on one bridge network (its IP, hostname and the
cluster's DNS names as /etc/hosts entries) and each rendered container joins its network and UTS
namespaces with exactly the rendered image, command, args, env, volumes, user, groups, read-only root,
dropped capabilities and memory limit. A Service is a small proxy container with its own IP, so its
port maps to the pods' target port as kube-proxy maps it. See docs/kubernetes.md, "Verified here".
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from tests.chart_runtime.manifest import Container, Pod, Probe, Service
from tests.containers.podman import BASE_IMAGE, podman

LABEL = "sequoia-chart-runtime"
CLUSTER_DOMAIN = "cluster.local"
PROXY = Path(__file__).with_name("service_proxy.py")


@dataclass
class Cluster:
    """One release's pods and Services on their own bridge network; everything labelled for teardown."""

    namespace: str
    workdir: Path
    run: str = field(default_factory=lambda: secrets.token_hex(3))
    prefix: str = ""
    addresses: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    # Host names outside the cluster (external Redis, Postgres, S3) → IP, resolvable from every namespace.
    external: dict[str, str] = field(default_factory=dict)

    @property
    def network(self) -> str:
        return f"sequoia-rt-{self.run}"

    def create_network(self) -> None:
        """A bridge network on a free /24 (other engineers' networks may hold some)."""
        for _ in range(20):
            self.prefix = f"10.{random.randint(100, 250)}.{random.randint(0, 255)}"
            done = podman("network", "create", "--label", f"{LABEL}={self.run}", "--subnet",
                          f"{self.prefix}.0/24", self.network, check=False)
            if done.returncode == 0:
                return
        raise RuntimeError(f"no free subnet for {self.network}: {done.stderr}")

    def address(self, name: str) -> str:
        """The IP of a pod or Service, allocated on first use."""
        if name not in self.addresses:
            self.addresses[name] = f"{self.prefix}.{len(self.addresses) + 10}"
        return self.addresses[name]

    def dns(self, namespace: str) -> list[str]:
        """Cluster DNS as /etc/hosts entries, seen from `namespace`: a short Service name only resolves
        inside the release's namespace (the search path), qualified names from everywhere."""
        args = []
        for service in self.services:
            ip = self.address("svc/" + service.name)
            names = [f"{service.name}.{self.namespace}", f"{service.name}.{self.namespace}.svc",
                     f"{service.name}.{self.namespace}.svc.{CLUSTER_DOMAIN}"]
            if namespace == self.namespace:
                names.append(service.name)
            args += [arg for name in names for arg in ("--add-host", f"{name}:{ip}")]
        return args + [arg for name, ip in self.external.items() for arg in ("--add-host", f"{name}:{ip}")]

    def name(self, pod: str, container: str = "pause") -> str:
        """The Podman name of a pod's container."""
        return f"rt{self.run}-{pod}-{container}"

    def teardown(self) -> None:
        """Remove every container and the network of this run (by label: nothing of anyone else)."""
        listed = podman("ps", "--all", "--format", "{{.Names}}", "--filter", f"label={LABEL}={self.run}",
                        check=False).stdout.split()
        # A pod's containers before its sandbox, which they depend on.
        for names in ([n for n in listed if not n.endswith("-pause")], [n for n in listed if n.endswith("-pause")]):
            if names:
                podman("rm", "--force", "--time", "0", *names, check=False)
        podman("network", "rm", "--force", self.network, check=False)


def _base_args(cluster: Cluster, name: str) -> list[str]:
    return ["run", "--detach", "--name", name, "--label", f"{LABEL}={cluster.run}", "--ulimit", "host",
            "--pull", "never"]


def _infra_args(cluster: Cluster, name: str) -> list[str]:
    # Sandboxes and Service proxies hold no state: killed at once on teardown.
    return [*_base_args(cluster, name), "--stop-signal", "KILL", "--read-only", "--cap-drop", "ALL"]


def start_services(cluster: Cluster, services: list[Service]) -> None:
    """A proxy per Service on its own IP, forwarding each port to the first pod behind it."""
    cluster.services = services
    for service in services:
        start_proxy(cluster, service, cluster.address(service.pods[0]))


def start_proxy(cluster: Cluster, service: Service, target: str) -> None:
    """The virtual IP of `service`, forwarding its ports to `target`."""
    rules = [f"{port}={target}:{target_port}" for port, target_port in service.ports.items()]
    # NET_BIND_SERVICE: Service ports below 1024 (the API's 80, HTTPS 443).
    podman(*_infra_args(cluster, cluster.name("svc-" + service.name)), "--network", cluster.network,
           "--ip", cluster.address("svc/" + service.name), "--cap-add", "NET_BIND_SERVICE",
           "--volume", f"{PROXY}:/proxy.py:ro", BASE_IMAGE, "python3", "/proxy.py", *rules)


def start_sandbox(cluster: Cluster, pod: str, namespace: str) -> str:
    """The pod's network and UTS namespaces (its IP, its hostname = pod name, cluster DNS); its IP."""
    ip = cluster.address(pod)
    podman(*_infra_args(cluster, cluster.name(pod)), "--network", cluster.network, "--ip", ip, "--hostname", pod,
           *cluster.dns(namespace), "--user", "65534", BASE_IMAGE, "sleep", "infinity")
    return ip


def _volume_args(cluster: Cluster, pod: Pod, container: Container) -> list[str]:
    args = []
    for mount in container.mounts:
        directory = cluster.workdir / pod.name / mount.volume
        if mount.kind == "emptyDir":
            # Disk-backed as the kubelet makes it (a tmpfs would charge files to the memory limit);
            # world-writable like an emptyDir. Its sizeLimit (an eviction threshold) is not enforced here.
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o777)
            args += ["--volume", f"{directory}:{mount.path}"]
            continue
        if mount.kind == "persistent":
            # A PersistentVolume as the kubelet hands it over with fsGroup: group-owned, setgid.
            if not directory.exists():
                directory.mkdir(parents=True)
                os.chown(directory, container.user or 0, container.fs_group or container.group or 0)
                directory.chmod(0o2770)
            args += ["--volume", f"{directory}:{mount.path}"]
        else:
            directory.mkdir(parents=True, exist_ok=True)
            for path, data in mount.files.items():
                (directory / path).write_bytes(data)
                (directory / path).chmod(0o644)
            args += ["--volume", f"{directory}:{mount.path}:ro"]
    return args


def _security_args(container: Container) -> list[str]:
    args = []
    if container.user is not None:
        args += ["--user", str(container.user) if container.group is None else f"{container.user}:{container.group}"]
    if container.fs_group is not None:
        args += ["--group-add", str(container.fs_group)]
    if container.read_only_root:
        args += ["--read-only", "--read-only-tmpfs=false"]
    for cap in container.drop_caps:
        args += ["--cap-drop", cap]
    if container.no_new_privileges:
        args += ["--security-opt", "no-new-privileges"]
    if container.memory_limit:
        args += ["--memory", str(container.memory_limit)]
    return args


def _env_file(cluster: Cluster, pod: Pod, container: Container) -> Path:
    path = cluster.workdir / f"{pod.name}-{container.name}.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in container.env.items()))
    path.chmod(0o600)
    return path


def start_container(cluster: Cluster, pod: Pod, container: Container) -> str:
    """One rendered container in its pod; its Podman name."""
    name = cluster.name(pod.name, container.name)
    restart = {"Always": "always", "OnFailure": "on-failure:6", "Never": "no"}[pod.restart_policy]
    args = [*_base_args(cluster, name), "--network", f"container:{cluster.name(pod.name)}",
            "--uts", f"container:{cluster.name(pod.name)}", "--restart", restart,
            "--stop-timeout", str(pod.grace_seconds), "--env-file", str(_env_file(cluster, pod, container)),
            # The runtime sets HOSTNAME to the pod's name in every container (the worker probes use it).
            "--env", f"HOSTNAME={pod.name}",
            *_security_args(container), *_volume_args(cluster, pod, container)]
    if container.command:
        # Kubernetes: command replaces the image's ENTRYPOINT and, args absent, drops its CMD too.
        args += ["--entrypoint", json.dumps(container.command)]
    podman(*args, container.image, *(container.args or []))
    return name


def start_pod(cluster: Cluster, pod: Pod, namespace: str | None = None) -> None:
    """The sandbox, each init container to success in order, then every container of the pod."""
    cluster.events.append(f"{pod.phase}:{pod.name}")
    start_sandbox(cluster, pod.name, namespace or cluster.namespace)
    for container in pod.init_containers:
        name = start_container(cluster, replace(pod, restart_policy="OnFailure"), container)
        code = podman("wait", name, timeout=900).stdout.strip()
        assert code == "0", f"init container {name} exited {code}:\n{logs(cluster, pod, container)[-3000:]}"
    for container in pod.containers:
        start_container(cluster, pod, container)


def replica(pod: Pod, index: int) -> Pod:
    """Another replica of a Deployment's pod (its own name, IP and hostname)."""
    return replace(pod, name=f"{pod.workload}-{index}")


def state(cluster: Cluster, pod: Pod, container: Container) -> dict:
    """Podman's State of a container (Running, ExitCode, ...)."""
    out = podman("inspect", "--format", "{{json .State}}", cluster.name(pod.name, container.name)).stdout
    return json.loads(out)


def logs(cluster: Cluster, pod: Pod, container: Container) -> str:
    """What the container printed."""
    done = podman("logs", cluster.name(pod.name, container.name), check=False)
    return done.stdout + done.stderr


def run_probe(cluster: Cluster, pod: Pod, container: Container, probe: Probe) -> str | None:
    """Execute one probe as the kubelet does; None when it passes, else why it failed."""
    ip = cluster.address(pod.name)
    try:
        if probe.action == "exec":
            done = podman("exec", cluster.name(pod.name, container.name), *probe.command, check=False,
                          timeout=probe.timeout + 5)
            return None if done.returncode == 0 else f"exit {done.returncode}: {done.stdout}{done.stderr}"
        if probe.action == "httpGet":
            answer = httpx.get(f"http://{ip}:{probe.port}{probe.path}", timeout=probe.timeout)
            return None if 200 <= answer.status_code < 400 else f"HTTP {answer.status_code}: {answer.text[:300]}"
        socket.create_connection((ip, probe.port), timeout=probe.timeout).close()
        return None
    except (OSError, httpx.HTTPError, subprocess.TimeoutExpired) as err:
        return repr(err)


def wait_ready(cluster: Cluster, pod: Pod, timeout: float = 240) -> None:
    """Until every readiness probe of the pod passes (a running container when it has none)."""
    deadline = time.monotonic() + timeout
    while True:
        failures = {}
        for container in pod.containers:
            if not state(cluster, pod, container)["Running"]:
                failures[container.name] = "not running"
                continue
            for probe in container.probes:
                if probe.kind == "readinessProbe" and (why := run_probe(cluster, pod, container, probe)):
                    failures[container.name] = why
        if not failures:
            return
        if time.monotonic() > deadline:
            tails = {c.name: logs(cluster, pod, c)[-3000:] for c in pod.containers}
            raise AssertionError(f"{pod.name} not ready after {timeout}s: {failures}\nlogs: {tails}")
        time.sleep(2)


def wait_exit(cluster: Cluster, pod: Pod, timeout: float = 600) -> int:
    """Until the pod's (single) container ends for good; its exit code."""
    container = pod.containers[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = state(cluster, pod, container)
        if not current["Running"] and current["Status"] == "exited" and (
                current["ExitCode"] == 0 or pod.restart_policy == "Never"):
            return current["ExitCode"]
        time.sleep(1)
    raise AssertionError(f"{pod.name} did not finish in {timeout}s:\n{logs(cluster, pod, container)[-3000:]}")


def stop(cluster: Cluster, pod: Pod, container: Container) -> float:
    """SIGTERM, then SIGKILL after the pod's grace period, as the kubelet stops a pod; seconds it took."""
    started = time.monotonic()
    podman("stop", "--time", str(pod.grace_seconds), cluster.name(pod.name, container.name),
           timeout=pod.grace_seconds + 60)
    return time.monotonic() - started


def run_once(cluster: Cluster, sandbox: str, image: str, command: list[str],
             volumes: dict[Path, str] | None = None) -> subprocess.CompletedProcess:
    """A one-off container in a sandbox's network namespace (non-root, read-only, no capabilities)."""
    args = ["run", "--rm", "--label", f"{LABEL}={cluster.run}", "--ulimit", "host", "--pull", "never",
            "--network", f"container:{cluster.name(sandbox)}", "--user", "10001", "--read-only", "--cap-drop", "ALL",
            "--tmpfs", "/tmp"]
    for source, target in (volumes or {}).items():
        args += ["--volume", f"{source}:{target}:ro"]
    return podman(*args, "--entrypoint", json.dumps(command[:1]), image, *command[1:], check=False, timeout=120)
