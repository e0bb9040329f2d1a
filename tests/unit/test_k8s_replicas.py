"""The in-cluster worker replicas reading: off outside a cluster, counts from real client models,
and a Kubernetes API failure becomes a TransientError with a stable code."""

from __future__ import annotations

import pytest
from kubernetes.client import (V1Deployment, V1DeploymentList, V1DeploymentSpec, V1DeploymentStatus,
                               V1LabelSelector, V1ObjectMeta, V1PodTemplateSpec)
from kubernetes.client.exceptions import ApiException

from sequoia_api.services.k8s_replicas import DeploymentReplicas, read_worker_replicas
from sequoia_core.errors import ErrorCode, TransientError
from sequoia_core.settings import Settings


def _deployment(name: str, desired: int | None, ready: int | None) -> V1Deployment:
    return V1Deployment(
        metadata=V1ObjectMeta(name=f"sequoia-{name}", labels={"app.kubernetes.io/component": name}),
        spec=V1DeploymentSpec(replicas=desired, selector=V1LabelSelector(), template=V1PodTemplateSpec()),
        status=V1DeploymentStatus(ready_replicas=ready, available_replicas=ready),
    )


class FakeAppsApi:
    """Stands in for AppsV1Api: answers `list_namespaced_deployment` from a fixed list or fails."""

    def __init__(self, items: list[V1Deployment] | None = None, error: Exception | None = None) -> None:
        self.items, self.error, self.calls = items or [], error, []

    def list_namespaced_deployment(self, namespace: str, **kwargs) -> V1DeploymentList:
        self.calls.append((namespace, kwargs["label_selector"]))
        if self.error:
            raise self.error
        return V1DeploymentList(items=self.items)


def _settings(**overrides) -> Settings:
    return Settings(_env_file=None, **overrides)


def test_off_outside_a_cluster_returns_none_without_calling_kubernetes():
    api = FakeAppsApi()

    assert read_worker_replicas(_settings(), apps=api) is None
    assert api.calls == []


def test_counts_come_from_each_worker_deployment():
    api = FakeAppsApi([_deployment("worker-thumbnails", 3, 2), _deployment("worker-media", None, None)])
    settings = _settings(k8s_worker_replicas=True, k8s_namespace="media",
                         k8s_worker_selector="app.kubernetes.io/instance=prod")

    rows = read_worker_replicas(settings, apps=api)

    assert api.calls == [("media", "app.kubernetes.io/instance=prod")]
    assert rows == [
        DeploymentReplicas("sequoia-worker-media", "worker-media", desired=1, ready=0, available=0),
        DeploymentReplicas("sequoia-worker-thumbnails", "worker-thumbnails", desired=3, ready=2, available=2),
    ]


def test_a_forbidden_read_is_a_transient_error_with_a_stable_code():
    api = FakeAppsApi(error=ApiException(status=403, reason="Forbidden"))

    with pytest.raises(TransientError) as caught:
        read_worker_replicas(_settings(k8s_worker_replicas=True, k8s_namespace="media"), apps=api)

    assert caught.value.code == ErrorCode.KUBERNETES_UNAVAILABLE
    assert "403" in caught.value.message


def test_turned_on_outside_a_cluster_says_so(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    with pytest.raises(TransientError) as caught:
        read_worker_replicas(_settings(k8s_worker_replicas=True, k8s_namespace="media"))

    assert caught.value.code == ErrorCode.KUBERNETES_UNAVAILABLE
    assert "not in a Kubernetes cluster" in caught.value.message
