"""Desired and ready replicas of the worker Deployments, read from the Kubernetes API in a cluster.

The Helm chart turns this on (`K8S_WORKER_REPLICAS=true`) and grants the API's service account a
read-only Role on Deployments of its namespace. Outside a cluster it is off and costs nothing: the
`kubernetes` client is imported only when a reading is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sequoia_core.errors import ErrorCode, TransientError
from sequoia_core.settings import Settings

if TYPE_CHECKING:
    from kubernetes.client import AppsV1Api

_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class DeploymentReplicas:
    """One worker Deployment's replica counts, as Kubernetes reports them."""

    name: str
    component: str | None
    desired: int
    ready: int
    available: int


def replicas_of(deployments: Iterable[Any]) -> list[DeploymentReplicas]:
    """Replica counts of `V1Deployment` objects, sorted by name. A Deployment without
    `spec.replicas` wants one (the Kubernetes default); missing status counts are zero."""
    rows = []
    for deployment in deployments:
        labels = deployment.metadata.labels or {}
        status = deployment.status
        rows.append(DeploymentReplicas(
            name=deployment.metadata.name,
            component=labels.get("app.kubernetes.io/component"),
            desired=1 if deployment.spec.replicas is None else deployment.spec.replicas,
            ready=(status and status.ready_replicas) or 0,
            available=(status and status.available_replicas) or 0,
        ))
    return sorted(rows, key=lambda row: row.name)


def _namespace(settings: Settings) -> str:
    if settings.k8s_namespace:
        return settings.k8s_namespace
    try:
        return _NAMESPACE_FILE.read_text().strip()
    except OSError as err:
        raise TransientError(f"no K8S_NAMESPACE and no service account namespace: {err}",
                             code=ErrorCode.KUBERNETES_UNAVAILABLE) from err


def _list(apps: AppsV1Api, namespace: str, selector: str) -> list[Any]:
    from kubernetes.client.exceptions import OpenApiException
    from urllib3.exceptions import HTTPError

    try:
        return apps.list_namespaced_deployment(namespace, label_selector=selector,
                                               _request_timeout=_TIMEOUT_SECONDS).items
    except (OpenApiException, HTTPError) as err:
        raise TransientError(f"cannot list deployments in {namespace}: {err}",
                             code=ErrorCode.KUBERNETES_UNAVAILABLE) from err


def read_worker_replicas(settings: Settings, apps: AppsV1Api | None = None) -> list[DeploymentReplicas] | None:
    """Each worker Deployment's desired and ready replicas; None when not running in a cluster
    (`K8S_WORKER_REPLICAS` off). Raises `TransientError` (code `kubernetes_unavailable`) when the
    Kubernetes API cannot be read. `apps` replaces the in-cluster client (tests)."""
    if not settings.k8s_worker_replicas:
        return None
    namespace = _namespace(settings)
    if apps is not None:
        return replicas_of(_list(apps, namespace, settings.k8s_worker_selector))
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException as err:
        raise TransientError(f"not in a Kubernetes cluster: {err}",
                             code=ErrorCode.KUBERNETES_UNAVAILABLE) from err
    with client.ApiClient() as api_client:
        return replicas_of(_list(client.AppsV1Api(api_client), namespace, settings.k8s_worker_selector))
