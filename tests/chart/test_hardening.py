"""Every pod runs non-root on a read-only root filesystem without capabilities, with resources and
probes; workers get time for a warm shutdown; NetworkPolicies and RBAC allow only what is needed."""

from __future__ import annotations

import pytest

from tests.chart.conftest import CHART, CI_VALUES, by_kind, pod_specs

ids = [p.name for p in CI_VALUES]


@pytest.mark.parametrize("values", CI_VALUES, ids=ids)
def test_every_container_is_locked_down(rendered, values):
    problems = []
    for workload, spec in pod_specs(rendered[values.name]):
        if not spec.get("securityContext", {}).get("runAsNonRoot"):
            problems.append(f"{workload}: runAsNonRoot")
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{workload}/{c['name']}: readOnlyRootFilesystem")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{workload}/{c['name']}: allowPrivilegeEscalation")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{workload}/{c['name']}: capabilities drop ALL")
            if not c.get("resources", {}).get("requests") or "memory" not in c["resources"].get("limits", {}):
                problems.append(f"{workload}/{c['name']}: resources")
            if "/tmp" not in {m["mountPath"] for m in c.get("volumeMounts", [])}:
                problems.append(f"{workload}/{c['name']}: writable /tmp")

    assert problems == []


def test_long_running_workloads_have_probes(rendered):
    missing = []
    for obj in by_kind(rendered["default-values.yaml"], "Deployment") + by_kind(
            rendered["seaweedfs-values.yaml"], "StatefulSet"):
        for c in obj["spec"]["template"]["spec"]["containers"]:
            wanted = ("readinessProbe",) if c["name"] == "beat" else ("readinessProbe", "livenessProbe")
            missing += [f"{obj['metadata']['name']}: {p}" for p in wanted if p not in c]

    assert missing == []


def test_workers_get_time_for_a_warm_shutdown(render):
    objects = render(None, "config.TASK_TIME_LIMIT_SECONDS=600")

    workers = [d for d in by_kind(objects, "Deployment") if "worker" in d["metadata"]["name"]]
    assert len(workers) == 2
    for worker in workers:
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 660


def test_every_api_and_worker_deployment_has_a_disruption_budget(rendered):
    objects = rendered["default-values.yaml"]

    budgets = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
               for p in by_kind(objects, "PodDisruptionBudget")}
    assert budgets == {"api", "worker-thumbnails", "worker-media"}


def _policy(objects: list[dict], suffix: str) -> dict:
    return next(p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"].endswith(suffix))


def test_workers_reach_only_dns_redis_postgres_and_s3(rendered):
    policy = _policy(rendered["seaweedfs-values.yaml"], "-workers")["spec"]

    assert policy["policyTypes"] == ["Ingress", "Egress"]
    ports = [sorted(p["port"] for p in rule["ports"]) for rule in policy["egress"]]
    assert ports == [[53, 53], [6379], [5432], [8333]]
    peers = [rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
             for rule in policy["egress"][1:]]
    assert peers == ["redis", "postgres", "seaweedfs"]


def test_only_the_ingress_controller_reaches_flower(rendered):
    policy = _policy(rendered["ingress-values.yaml"], "-flower")["spec"]

    assert policy["ingress"] == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
        "ports": [{"protocol": "TCP", "port": "http"}]}]


def test_prometheus_reaches_flower_only_when_it_scrapes_it(render, rendered):
    scraped = _policy(rendered["monitoring-values.yaml"], "-flower")["spec"]["ingress"]
    unscraped = _policy(rendered["default-values.yaml"], "-flower")["spec"]["ingress"]
    ingress_controller = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    prometheus = [{"namespaceSelector": {},
                   "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
    http = [{"protocol": "TCP", "port": "http"}]

    assert scraped == [{"from": ingress_controller, "ports": http}, {"from": prometheus, "ports": http}]
    assert unscraped == [{"from": ingress_controller, "ports": http}]
    no_flower = render(CHART / "ci" / "monitoring-values.yaml", "flower.enabled=false")
    assert [p for p in by_kind(no_flower, "NetworkPolicy") if p["metadata"]["name"].endswith("-flower")] == []


def test_keda_operator_may_read_redis(rendered):
    policy = _policy(rendered["default-values.yaml"], "-redis")["spec"]

    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}} in policy["ingress"][0]["from"]


def test_flower_always_asks_for_a_password_from_the_secret(rendered):
    flower = next(d for d in by_kind(rendered["ingress-values.yaml"], "Deployment")
                  if d["metadata"]["name"] == "sequoia-flower")

    env = {e["name"]: e for e in flower["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["FLOWER_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "sequoia", "key": "flower-password"}


def test_only_the_api_may_read_deployments_and_only_read(rendered):
    objects = rendered["default-values.yaml"]

    role = by_kind(objects, "Role")[0]
    assert role["rules"] == [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]}]
    binding = by_kind(objects, "RoleBinding")[0]
    assert [s["name"] for s in binding["subjects"]] == ["sequoia-api"]
    tokens = {name: spec.get("automountServiceAccountToken") for name, spec in pod_specs(objects)}
    assert [name for name, mounted in tokens.items() if mounted is not False] == ["sequoia-api"]
    api = next(d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "sequoia-api")
    env = {e["name"]: e.get("value") for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["K8S_WORKER_REPLICAS"] == "true"
    assert env["K8S_WORKER_SELECTOR"] == (
        "app.kubernetes.io/instance=sequoia,app.kubernetes.io/component in (worker-media,worker-thumbnails)")
