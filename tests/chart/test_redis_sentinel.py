"""Redis through Sentinel in the chart: every process gets REDIS_SENTINELS and the master's name,
KEDA scales with its redis-sentinel scaler, the NetworkPolicies let the sentinels' ports out, and
TLS with Sentinel is refused at render time."""

from __future__ import annotations

import pytest

from tests.chart.conftest import by_kind

SENTINEL = ("redis.enabled=false", "externalRedis.sentinel.addresses={s1.redis:26379,s2.redis:26380}",
            "externalRedis.sentinel.masterName=queue-master")


def _config(objects: list[dict]) -> dict[str, str]:
    return next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-config")["data"]


def test_every_process_and_keda_find_the_master_through_the_sentinels(render):
    objects = render(None, *SENTINEL)
    config = _config(objects)

    assert config["REDIS_SENTINELS"] == "s1.redis:26379,s2.redis:26380"
    assert config["REDIS_SENTINEL_MASTER"] == "queue-master"
    triggers = [t for s in by_kind(objects, "ScaledObject") for t in s["spec"]["triggers"]]
    assert triggers and all(t["type"] == "redis-sentinel" for t in triggers)
    assert all(t["metadata"]["addresses"] == "s1.redis:26379,s2.redis:26380"
               and t["metadata"]["sentinelMaster"] == "queue-master" and "address" not in t["metadata"]
               for t in triggers)


def test_network_policies_let_the_sentinel_ports_out(render):
    objects = render(None, *SENTINEL, "networkPolicy.enabled=true")
    ports = {port["port"] for policy in by_kind(objects, "NetworkPolicy") for rule in policy["spec"].get("egress", [])
             for port in rule.get("ports", [])}
    assert {26379, 26380} <= ports


def test_without_sentinel_nothing_of_it_is_rendered(rendered):
    objects = rendered["default-values.yaml"]
    assert not {"REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"} & _config(objects).keys()
    assert all(t["type"] == "redis" for s in by_kind(objects, "ScaledObject") for t in s["spec"]["triggers"])


def test_tls_through_sentinel_is_refused(render):
    with pytest.raises(AssertionError, match="not supported"):
        render(None, *SENTINEL, "externalRedis.tls.enabled=true")
