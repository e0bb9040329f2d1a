"""tests/chart_runtime/manifest.py reads a render as a kubelet does: env precedence, optional
references, Helm's phase order, Service target ports by name."""

from __future__ import annotations

import pytest

from tests.chart_runtime import manifest

CONFIG = {"kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"LOG_LEVEL": "info", "A": "config"}}
SECRET = {"kind": "Secret", "metadata": {"name": "creds"}, "data": {"token": "czNjcjN0"}, "stringData": {"url": "u"}}


def _deployment(name: str, hook: str | None = None, weight: str = "0", env: list | None = None) -> dict:
    annotations = {"helm.sh/hook": hook, "helm.sh/hook-weight": weight} if hook else {}
    container = {"name": "main", "image": "img:1", "envFrom": [{"configMapRef": {"name": "settings"}}],
                 "env": env or [], "ports": [{"name": "http", "containerPort": 8000}],
                 "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
                 "resources": {"limits": {"memory": "512Mi"}}}
    return {"kind": "Job" if hook else "Deployment", "metadata": {"name": name, "annotations": annotations},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


def test_env_wins_over_envfrom_and_secrets_resolve_from_data_and_string_data():
    env = [{"name": "A", "value": "env"},
           {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
           {"name": "URL", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "url"}}},
           {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "x", "optional": True}}}]

    pod, = manifest.pods([CONFIG, SECRET, _deployment("api", env=env)], "media")

    assert pod.containers[0].env == {"LOG_LEVEL": "info", "A": "env", "TOKEN": "s3cr3t", "URL": "u", "NS": "media"}


def test_a_missing_required_key_is_an_error():
    env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "missing"}}}]

    with pytest.raises(KeyError):
        manifest.pods([CONFIG, SECRET, _deployment("api", env=env)], "media")


def test_pods_come_in_helm_install_order():
    docs = [CONFIG, _deployment("app"), _deployment("late", "post-install"),
            _deployment("second", "pre-install", "5"), _deployment("first", "pre-install", "-5")]

    assert [(p.phase, p.name) for p in manifest.pods(docs, "media")] == [
        ("pre-install", "first"), ("pre-install", "second"), ("release", "app-0"), ("post-install", "late")]


def test_probe_ports_service_target_ports_and_memory_resolve():
    docs = [CONFIG, _deployment("api"), {"kind": "Service", "metadata": {"name": "api"},
                                         "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": "http"}]}}]
    pods = manifest.pods(docs, "media")

    assert pods[0].containers[0].probes[0].port == 8000
    assert pods[0].containers[0].memory_limit == 512 * 1024**2
    assert manifest.services(docs, pods) == [manifest.Service("api", ["api-0"], {80: 8000})]
    assert manifest.memory_bytes("1G") == 10**9
