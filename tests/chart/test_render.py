"""The chart lints strictly, renders for every ci/*-values.yaml, and every rendered object is valid
against the Kubernetes / CRD JSON schema of its kind (a kind without a schema fails)."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from tests.chart.conftest import ALL_VALUES, CHART, CI_VALUES, by_kind, run_helm

SCHEMA_DIR = Path(__file__).with_name("schemas")  # the project's copy; SOURCES.md there says where from
SCHEMA_FILES = {
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("apps/v1", "StatefulSet"): "statefulset-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "ServiceAccount"): "serviceaccount-v1.json",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaim-v1.json",
    ("v1", "Pod"): "pod-v1.json",
    ("batch/v1", "Job"): "job-batch-v1.json",
    ("networking.k8s.io/v1", "Ingress"): "ingress-networking-v1.json",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicy-networking-v1.json",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscaler-autoscaling-v2.json",
    ("rbac.authorization.k8s.io/v1", "Role"): "role-rbac-v1.json",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rolebinding-rbac-v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}
ids = [p.name for p in ALL_VALUES]


@cache
def validator(file_name: str) -> jsonschema.Draft7Validator:
    # The files declare "$schema": "http://json-schema.org/schema#", which jsonschema does not know:
    # pick the draft explicitly (SOURCES.md beside them).
    return jsonschema.Draft7Validator(json.loads((SCHEMA_DIR / file_name).read_text()))


def test_schemas_are_the_copies_sources_md_names():
    """Every schema file is byte-for-byte the upstream file whose sha256 SOURCES.md records."""
    recorded = dict(re.findall(r"\| `([\w.-]+\.json)` .*?sha256 `([0-9a-f]{64})`", (SCHEMA_DIR / "SOURCES.md").read_text()))

    assert set(recorded) == {p.name for p in SCHEMA_DIR.glob("*.json")} >= set(SCHEMA_FILES.values())
    assert {name: hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest() for name in recorded} == recorded


def test_ci_values_cover_every_feature_toggle():
    names = {p.name for p in CI_VALUES}

    assert {"default-values.yaml", "hpa-values.yaml", "keda-priorities-values.yaml", "ingress-values.yaml",
            "monitoring-values.yaml", "external-services-values.yaml", "existing-secret-values.yaml",
            "seaweedfs-values.yaml", "minimal-values.yaml"} <= names


@pytest.mark.parametrize("values", ALL_VALUES, ids=ids)
def test_helm_lint_strict(helm, values):
    out = run_helm(helm, "lint", "--strict", str(CHART), "--values", str(values))

    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("values", ALL_VALUES, ids=ids)
def test_every_rendered_object_matches_its_schema(rendered, values):
    problems = []
    for obj in rendered[values.name]:
        key = (obj.get("apiVersion"), obj.get("kind"))
        name = f"{key[1]}/{obj.get('metadata', {}).get('name')}"
        if key not in SCHEMA_FILES:
            problems.append(f"{name}: no schema for {key} (kinds without a schema are not allowed)")
            continue
        errors = sorted(validator(SCHEMA_FILES[key]).iter_errors(obj), key=lambda e: list(e.path))
        problems += [f"{name} at {'/'.join(map(str, e.path))}: {e.message}" for e in errors]

    assert problems == []


def test_unknown_values_are_refused_by_values_schema(helm):
    with pytest.raises(AssertionError, match="additional properties"):
        run_helm(helm, "template", "x", str(CHART), "--set", "workers.thumbnails.kedaa.maxReplicaCount=3")


def test_the_api_needs_no_fixed_replica_count_from_keda_but_hpa_only_without_keda(rendered):
    with_keda, without = rendered["default-values.yaml"], rendered["hpa-values.yaml"]

    assert len(by_kind(with_keda, "ScaledObject")) == 2 and by_kind(with_keda, "HorizontalPodAutoscaler") == []
    assert by_kind(without, "ScaledObject") == [] and by_kind(without, "TriggerAuthentication") == []
    assert [h["spec"]["scaleTargetRef"]["name"] for h in by_kind(without, "HorizontalPodAutoscaler")] == [
        "sequoia-worker-thumbnails"]
    workers = {d["metadata"]["name"]: d["spec"] for d in by_kind(with_keda, "Deployment")}
    # Autoscaled Deployments carry no replicas, so an upgrade never resets what KEDA chose.
    assert "replicas" not in workers["sequoia-worker-thumbnails"]
    media = next(d for d in by_kind(without, "Deployment") if d["metadata"]["name"] == "sequoia-worker-media")
    assert media["spec"]["replicas"] == 2


def test_paused_replicas_annotation_and_scale_to_zero(rendered):
    scaled = {s["metadata"]["name"]: s for s in by_kind(rendered["keda-priorities-values.yaml"], "ScaledObject")}

    assert scaled["sequoia-worker-media"]["metadata"]["annotations"] == {"autoscaling.keda.sh/paused-replicas": "2"}
    thumbs = scaled["sequoia-worker-thumbnails"]["spec"]
    assert thumbs["minReplicaCount"] == 0 and thumbs["maxReplicaCount"] == 20
    # Each lane (live, backfill) and its three priority sub-lists.
    assert thumbs["advanced"]["scalingModifiers"]["formula"] == " + ".join(f"list{i}" for i in range(8))
    assert {t["metadata"]["activationListLength"] for t in thumbs["triggers"]} == {"0"}


def test_redis_keeps_queued_tasks_at_its_memory_cap(render):
    objects = render(None, "redis.maxmemory=512mb")

    config = next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-redis")
    assert "maxmemory 512mb\nmaxmemory-policy noeviction\nappendonly yes" in config["data"]["redis.conf"]
    redis = next(s for s in by_kind(objects, "StatefulSet") if s["metadata"]["name"] == "sequoia-redis")
    assert redis["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "2Gi"


def test_migrations_run_as_a_hook_before_the_services_start(rendered):
    external = by_kind(rendered["external-services-values.yaml"], "Job")[0]["metadata"]["annotations"]
    in_chart = by_kind(rendered["default-values.yaml"], "Job")[0]["metadata"]["annotations"]

    assert external["helm.sh/hook"] == "pre-install,pre-upgrade"
    # The in-chart Postgres only exists once the release is installed.
    assert in_chart["helm.sh/hook"] == "post-install,pre-upgrade"
    job = by_kind(rendered["default-values.yaml"], "Job")[0]["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["sequoia-migrate"]
    hooked = [o for o in by_kind(rendered["default-values.yaml"], "Secret")
              if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-install,pre-upgrade"]
    assert hooked, "the Job reads a Secret that must exist before it"


def test_helm_test_pod_ingests_through_the_api(rendered):
    pods = by_kind(rendered["default-values.yaml"], "Pod")

    assert [p["metadata"]["annotations"]["helm.sh/hook"] for p in pods] == ["test"]
    env = {e["name"]: e for e in pods[0]["spec"]["containers"][0]["env"]}
    assert env["SEQUOIA_API_URL"]["value"] == "http://sequoia-api:80"
