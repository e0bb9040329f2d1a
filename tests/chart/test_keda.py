"""KEDA watches the Redis keys Celery really fills, and k8s/keda/ holds the chart's own KEDA objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sequoia_core.queues import BACKFILL_LANES, ROUTES, QueueName
from tests.chart.conftest import ALL_VALUES, NAMESPACE, ROOT, by_kind

KOMBU_PRIORITY_SEP = "\x06\x16"
STANDALONE = ROOT / "k8s" / "keda"


def _task_routed_to(queue: str) -> str:
    """A task name the app's routing table sends to `queue` (unlisted names go to `default`), or to
    the queue whose backfill lane `queue` is."""
    if queue == QueueName.DEFAULT:
        return "sequoia.chart_test.unrouted"
    live = next((live for live, lane in BACKFILL_LANES.items() if lane == queue), queue)
    return next(name for name, routed in ROUTES.items() if routed == live)


def _list_names(objects: list[dict]) -> list[tuple[str, str]]:
    return [(s["metadata"]["name"], t["metadata"]["listName"])
            for s in by_kind(objects, "ScaledObject") for t in s["spec"]["triggers"]]


@pytest.mark.parametrize("values", ["default-values.yaml", "keda-priorities-values.yaml"])
def test_each_list_name_is_the_key_celery_fills(rendered, broker, values):
    app, client = broker
    names = _list_names(rendered[values])
    assert names, "no ScaledObject trigger rendered"
    for scaled_object, list_name in names:
        queue, _, priority = list_name.partition(KOMBU_PRIORITY_SEP)
        client.delete(list_name)
        try:
            # A backfill lane is named at publish (sequoia_core.dispatch sends each entry to its queue).
            lane = {"queue": queue} if queue in BACKFILL_LANES.values() else {}
            app.send_task(_task_routed_to(queue), args=["00000000-0000-0000-0000-000000000000"],
                          priority=int(priority) if priority else None, **lane)
            assert client.llen(list_name) == 1, f"{scaled_object}: nothing arrived in {list_name!r}"
        finally:
            client.delete(list_name)


def test_each_worker_watches_exactly_its_queues(rendered):
    plain = dict.fromkeys(name for name, _ in _list_names(rendered["default-values.yaml"]))
    with_priorities = _list_names(rendered["keda-priorities-values.yaml"])

    assert {s: [l for n, l in _list_names(rendered["default-values.yaml"]) if n == s] for s in plain} == {
        "sequoia-worker-media": ["media", "default"],
        "sequoia-worker-thumbnails": ["thumbnails", "thumbnails.backfill"]}
    thumbs = [l for n, l in with_priorities if n == "sequoia-worker-thumbnails"]
    assert thumbs == [f"{lane}{step}" for lane in ("thumbnails", "thumbnails.backfill")
                      for step in ["", *(f"{KOMBU_PRIORITY_SEP}{p}" for p in (3, 6, 9))]]


def test_redis_password_reaches_keda_through_a_trigger_authentication(rendered):
    objects = rendered["default-values.yaml"]

    auth = by_kind(objects, "TriggerAuthentication")[0]
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "password", "name": "sequoia", "key": "redis-password"}]
    for scaled in by_kind(objects, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
            assert trigger["metadata"]["address"] == "sequoia-redis.sequoia.svc.cluster.local:6379"


def _keda_hosts(objects: list[dict]) -> list[str]:
    return [t["metadata"]["address"].rpartition(":")[0]
            for s in by_kind(objects, "ScaledObject") for t in s["spec"]["triggers"]]


@pytest.mark.parametrize("values", [p.name for p in ALL_VALUES])
def test_keda_resolves_redis_by_its_fully_qualified_name(rendered, values):
    """KEDA's operator runs in its own namespace: a short Service name would not resolve there."""
    objects = rendered[values]
    services = {s["metadata"]["name"] for s in by_kind(objects, "Service")}
    for host in _keda_hosts(objects):
        assert host not in services, f"{values}: KEDA gets the short Service name {host!r}"
        name, dot, rest = host.partition(".")
        if name in services:
            assert rest == f"{NAMESPACE}.svc.cluster.local", f"{values}: {host!r} is not qualified"
        else:  # an external Redis: the user's own name, which must not be a bare host name either
            assert dot, f"{values}: KEDA gets the unqualified host {host!r}"


def test_cluster_domain_is_a_value(render):
    hosts = _keda_hosts(render(None, "clusterDomain=corp.example"))
    assert hosts and set(hosts) == {"sequoia-redis.sequoia.svc.corp.example"}


def _keda_objects(docs: list[dict]) -> list[dict]:
    """What must match between the chart and k8s/keda/: identity and spec (labels may differ)."""
    keep = [d for d in docs if d["apiVersion"].startswith("keda.sh/")]
    return sorted(({"apiVersion": d["apiVersion"], "kind": d["kind"], "name": d["metadata"]["name"],
                    "annotations": d["metadata"].get("annotations", {}), "spec": d["spec"]} for d in keep),
                  key=lambda d: (d["kind"], d["name"]))


def test_standalone_manifests_equal_the_charts(rendered):
    files = sorted(Path(STANDALONE).glob("*.yaml"))
    standalone = [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]

    assert files, f"no manifests in {STANDALONE}"
    assert _keda_objects(standalone) == _keda_objects(rendered["default-values.yaml"]), (
        "k8s/keda/ drifted from the chart: run `make keda-manifests`")
