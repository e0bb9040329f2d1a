"""The rendered release as a kubelet reads it: pods with resolved env, volumes, security and probes,
in Helm's install order. Pure logic over `helm template` output; kubelet.py runs what this describes."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

WORKLOADS = ("Deployment", "StatefulSet", "Job")
# Helm's install phases: hooks of a phase by weight, then kind order; the release's own objects between.
PHASES = ("pre-install", "release", "post-install")
_MEMORY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3, "": 1}


@dataclass
class Probe:
    """One readiness, liveness or startup probe of a container."""

    kind: str
    action: str  # exec | httpGet | tcpSocket
    command: list[str] = field(default_factory=list)
    path: str = "/"
    port: int = 0
    timeout: int = 1


@dataclass
class Mount:
    """A volume at a path: tmpfs (emptyDir), files (ConfigMap/Secret items) or a persistent directory."""

    path: str
    kind: str  # emptyDir | files | persistent
    read_only: bool = False
    size: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    volume: str = ""


@dataclass
class Container:
    """A container exactly as rendered, its env and files resolved."""

    name: str
    image: str
    command: list[str] | None
    args: list[str] | None
    env: dict[str, str]
    mounts: list[Mount]
    user: int | None
    group: int | None
    fs_group: int | None
    read_only_root: bool
    drop_caps: list[str]
    no_new_privileges: bool
    memory_limit: int | None
    ports: dict[str, int]
    probes: list[Probe]


@dataclass
class Pod:
    """One pod of a workload (replica 0), with what Helm and the kubelet need to order and stop it."""

    name: str
    kind: str
    workload: str
    labels: dict[str, str]
    phase: str
    weight: int
    containers: list[Container]
    grace_seconds: int
    restart_policy: str
    init_containers: list[Container] = field(default_factory=list)


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity ("512Mi", "1G") in bytes."""
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()
    return int(float(number) * _MEMORY_UNITS[unit])


def _by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == kind}


def _secret_data(secret: dict) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()})
    return data


class Objects:
    """The rendered ConfigMaps and Secrets a pod's env and volumes refer to."""

    def __init__(self, docs: list[dict], namespace: str) -> None:
        self.namespace = namespace
        self.config_maps = {n: {k: str(v).encode() for k, v in (d.get("data") or {}).items()}
                            for n, d in _by_kind(docs, "ConfigMap").items()}
        self.secrets = {n: _secret_data(d) for n, d in _by_kind(docs, "Secret").items()}

    def _source(self, ref: dict, store: dict[str, dict[str, bytes]]) -> dict[str, bytes] | None:
        found = store.get(ref["name"])
        if found is None and not ref.get("optional"):
            raise KeyError(f"{ref['name']} is not rendered")
        return found

    def env(self, container: dict) -> dict[str, str]:
        """envFrom first, then env (which wins), each valueFrom resolved as the kubelet does."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            ref, store = ((source["configMapRef"], self.config_maps) if "configMapRef" in source
                          else (source["secretRef"], self.secrets))
            env.update({k: v.decode() for k, v in (self._source(ref, store) or {}).items()})
        for item in container.get("env", []):
            value = self._value(item)
            if value is not None:
                env[item["name"]] = value
        return env

    def _value(self, item: dict) -> str | None:
        if "value" in item:
            return str(item["value"])
        source = item["valueFrom"]
        if "fieldRef" in source:
            return {"metadata.namespace": self.namespace}[source["fieldRef"]["fieldPath"]]
        ref, store = ((source["secretKeyRef"], self.secrets) if "secretKeyRef" in source
                      else (source["configMapKeyRef"], self.config_maps))
        data = self._source(ref, store)
        if data is None or ref["key"] not in data:
            if ref.get("optional"):
                return None
            raise KeyError(f"{ref['name']} has no key {ref['key']}")
        return data[ref["key"]].decode()

    def files(self, volume: dict) -> dict[str, bytes]:
        """Files of a ConfigMap or Secret volume, with its items' renames."""
        if "configMap" in volume:
            spec, data = volume["configMap"], self.config_maps[volume["configMap"]["name"]]
        else:
            spec, data = volume["secret"], self.secrets[volume["secret"]["secretName"]]
        items = spec.get("items") or [{"key": k, "path": k} for k in data]
        return {item["path"]: data[item["key"]] for item in items}


def _phase(doc: dict) -> tuple[str, int]:
    annotations = doc["metadata"].get("annotations") or {}
    hooks = [h.strip() for h in annotations.get("helm.sh/hook", "").split(",") if h.strip()]
    weight = int(annotations.get("helm.sh/hook-weight", "0"))
    for phase in ("pre-install", "post-install", "test"):
        if phase in hooks:
            return phase, weight
    return ("upgrade-only", weight) if hooks else ("release", weight)


def _mounts(spec: dict, container: dict, objects: Objects) -> list[Mount]:
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    claims = {c["metadata"]["name"]: c for c in spec.get("_claims", [])}
    mounts = []
    for mount in container.get("volumeMounts", []):
        name, path = mount["name"], mount["mountPath"]
        volume = volumes.get(name)
        if volume is None and name in claims:
            mounts.append(Mount(path, "persistent", volume=name))
        elif "emptyDir" in volume:
            mounts.append(Mount(path, "emptyDir", size=(volume["emptyDir"] or {}).get("sizeLimit"), volume=name))
        else:
            mounts.append(Mount(path, "files", read_only=True, files=objects.files(volume), volume=name))
    return mounts


def _probes(container: dict) -> list[Probe]:
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    probes = []
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec = container.get(kind)
        if not spec:
            continue
        timeout = spec.get("timeoutSeconds", 1)
        if "exec" in spec:
            probes.append(Probe(kind, "exec", command=spec["exec"]["command"], timeout=timeout))
        else:
            action = "httpGet" if "httpGet" in spec else "tcpSocket"
            port = spec[action]["port"]
            probes.append(Probe(kind, action, path=spec[action].get("path", "/"),
                                port=ports[port] if isinstance(port, str) else port, timeout=timeout))
    return probes


def _container(spec: dict, container: dict, objects: Objects) -> Container:
    pod_security, security = spec.get("securityContext") or {}, container.get("securityContext") or {}
    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    return Container(
        name=container["name"], image=container["image"], command=container.get("command"),
        args=container.get("args"), env=objects.env(container), mounts=_mounts(spec, container, objects),
        user=security.get("runAsUser", pod_security.get("runAsUser")),
        group=security.get("runAsGroup", pod_security.get("runAsGroup")), fs_group=pod_security.get("fsGroup"),
        read_only_root=bool(security.get("readOnlyRootFilesystem")),
        drop_caps=list((security.get("capabilities") or {}).get("drop", [])),
        no_new_privileges=security.get("allowPrivilegeEscalation") is False,
        memory_limit=memory_bytes(limit) if limit else None,
        ports={p.get("name", str(p["containerPort"])): p["containerPort"] for p in container.get("ports", [])},
        probes=_probes(container))


def pods(docs: list[dict], namespace: str) -> list[Pod]:
    """Every workload's pod (and the `helm test` pods), in Helm's install order."""
    objects = Objects(docs, namespace)
    found = []
    for doc in docs:
        if doc.get("kind") not in (*WORKLOADS, "Pod"):
            continue
        phase, weight = _phase(doc)
        template = doc if doc["kind"] == "Pod" else doc["spec"]["template"]
        spec = {**template["spec"], "_claims": doc["spec"].get("volumeClaimTemplates", [])}
        name = doc["metadata"]["name"]
        found.append(Pod(
            name=name if doc["kind"] in ("Pod", "Job") else f"{name}-0", kind=doc["kind"], workload=name,
            labels=template["metadata"].get("labels", {}), phase=phase, weight=weight,
            containers=[_container(spec, c, objects) for c in spec["containers"]],
            init_containers=[_container(spec, c, objects) for c in spec.get("initContainers", [])],
            grace_seconds=spec.get("terminationGracePeriodSeconds", 30),
            restart_policy=spec.get("restartPolicy", "Always")))
    order = {phase: index for index, phase in enumerate((*PHASES, "test", "upgrade-only"))}
    return sorted(found, key=lambda p: (order[p.phase], p.weight))


@dataclass
class Service:
    """A Service: the pods its selector picks and its ports (service port → container port)."""

    name: str
    pods: list[str]
    ports: dict[int, int]


def services(docs: list[dict], all_pods: list[Pod]) -> list[Service]:
    """Each rendered Service with the pods behind it."""
    found = []
    for doc in docs:
        if doc.get("kind") != "Service":
            continue
        selector = doc["spec"].get("selector") or {}
        behind = [p for p in all_pods if p.phase != "test" and selector.items() <= p.labels.items()]
        ports = {}
        for port in doc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if isinstance(target, str):
                target = next(c.ports[target] for p in behind for c in p.containers if target in c.ports)
            ports[port["port"]] = target
        found.append(Service(doc["metadata"]["name"], [p.name for p in behind], ports))
    return found
