"""Operations knobs on every component: service accounts for workload identity, pod annotations and
labels, scheduling (topology spread, priority, affinity, node selector, tolerations), image digests,
one registry for every image, and NetworkPolicy egress to the cloud's credential endpoints."""

from __future__ import annotations

import pytest

from tests.chart.conftest import CHART, by_kind

SEAWEED = CHART / "ci" / "seaweedfs-values.yaml"
# values path -> the workload it shapes (seaweedfs-values.yaml turns SeaweedFS on)
COMPONENTS = {
    "api": ("Deployment", "sequoia-api"),
    "workers.thumbnails": ("Deployment", "sequoia-worker-thumbnails"),
    "workers.media": ("Deployment", "sequoia-worker-media"),
    "beat": ("Deployment", "sequoia-beat"),
    "flower": ("Deployment", "sequoia-flower"),
    "migrations": ("Job", "sequoia-migrations"),
    "redis": ("StatefulSet", "sequoia-redis"),
    "postgres": ("StatefulSet", "sequoia-postgres"),
    "seaweedfs": ("StatefulSet", "sequoia-seaweedfs"),
}
WITH_SERVICE_ACCOUNT = ["api", "workers.thumbnails", "workers.media", "beat", "flower"]


def _workload(objects: list[dict], kind: str, name: str) -> dict:
    return next(o for o in by_kind(objects, kind) if o["metadata"]["name"] == name)["spec"]["template"]


@pytest.mark.parametrize("path", COMPONENTS)
def test_every_component_takes_pod_metadata_and_scheduling(render, path):
    kind, name = COMPONENTS[path]
    objects = render(SEAWEED,
                     f"{path}.podAnnotations.example\\.com/team=media",
                     f"{path}.podLabels.cost-centre=voyages",
                     f"{path}.priorityClassName=sequoia-high",
                     f"{path}.nodeSelector.pool=media",
                     f"{path}.tolerations[0].key=dedicated",
                     f"{path}.tolerations[0].operator=Exists",
                     f"{path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                     f".nodeSelectorTerms[0].matchExpressions[0].key=zone",
                     f"{path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                     f".nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
                     f"{path}.topologySpreadConstraints[0].maxSkew=1",
                     f"{path}.topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
                     f"{path}.topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway")
    template = _workload(objects, kind, name)
    meta, spec = template["metadata"], template["spec"]

    assert meta["annotations"]["example.com/team"] == "media"
    assert meta["labels"]["cost-centre"] == "voyages"
    assert meta["labels"]["app.kubernetes.io/instance"] == "sequoia", "the chart's own labels stay"
    assert spec["priorityClassName"] == "sequoia-high"
    assert spec["nodeSelector"] == {"pool": "media"}
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert "nodeAffinity" in spec["affinity"]
    spread = spec["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == template["metadata"]["labels"][
        "app.kubernetes.io/component"], "a constraint without a selector spreads this component's pods"


@pytest.mark.parametrize("name", ["sequoia-worker-thumbnails", "sequoia-worker-media"])
def test_workers_ask_autoscalers_not_to_evict_them_mid_task(rendered, name):
    annotations = _workload(rendered["default-values.yaml"], "Deployment", name)["metadata"]["annotations"]

    assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    assert annotations["karpenter.sh/do-not-disrupt"] == "true"


@pytest.mark.parametrize("path", WITH_SERVICE_ACCOUNT)
def test_each_component_has_its_own_service_account_for_workload_identity(render, path):
    kind, name = COMPONENTS[path]
    made = render(None, f"{path}.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/x")
    accounts = {a["metadata"]["name"]: a for a in by_kind(made, "ServiceAccount")}

    account = _workload(made, kind, name)["spec"]["serviceAccountName"]
    assert account == name
    assert accounts[account]["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}

    given = render(None, f"{path}.serviceAccount.create=false", f"{path}.serviceAccount.name=shared-identity")
    assert _workload(given, kind, name)["spec"]["serviceAccountName"] == "shared-identity"
    assert name not in {a["metadata"]["name"] for a in by_kind(given, "ServiceAccount")}


def _images(objects: list[dict]) -> list[str]:
    images = []
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            spec = obj["spec"]["template"]["spec"]
        elif obj["kind"] == "Pod":
            spec = obj["spec"]
        else:
            continue
        images += [c["image"] for c in spec.get("initContainers", []) + spec["containers"]]
    return images


def test_one_registry_serves_every_image(render):
    images = _images(render(SEAWEED, "global.imageRegistry=mirror.example.com"))

    assert images and all(i.startswith("mirror.example.com/") for i in images), images
    assert "mirror.example.com/library/redis:7.4-alpine" in images
    assert "mirror.example.com/chrislusf/seaweedfs:3.80" in images


def test_images_can_be_pinned_by_digest(render):
    digest = "sha256:" + "a" * 64
    images = _images(render(None, f"api.image.digest={digest}", f"redis.image.digest={digest}"))

    assert f"sequoia-api:0.1.0@{digest}" in images
    assert f"docker.io/library/redis:7.4-alpine@{digest}" in images


def _egress_cidrs(objects: list[dict], policy: str) -> set[str]:
    spec = next(p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == policy)["spec"]
    return {peer["ipBlock"]["cidr"] for rule in spec["egress"] for peer in rule.get("to", []) if "ipBlock" in peer}


def test_egress_to_cloud_credential_endpoints_is_opt_in(render, rendered):
    assert "169.254.169.254/32" not in _egress_cidrs(rendered["default-values.yaml"], "sequoia-workers")

    objects = render(None, "networkPolicy.cloudCredentials.enabled=true")
    for policy in ("sequoia-workers", "sequoia-api"):
        assert {"169.254.169.254/32", "169.254.170.23/32"} <= _egress_cidrs(objects, policy), policy


def test_only_the_media_worker_reaches_webhook_receivers_and_never_private_ranges(rendered):
    objects = rendered["default-values.yaml"]
    policy = next(p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == "sequoia-webhooks")["spec"]

    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "worker-media"
    [rule] = policy["egress"]
    [peer] = rule["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "169.254.0.0/16", "127.0.0.0/8"} <= set(peer["ipBlock"]["except"])
    assert [p["port"] for p in rule["ports"]] == [443, 80]
