"""The chart ships monitoring/'s Prometheus rules and Grafana dashboard unchanged, scrapes every
metrics port the services open, and Flower's own /metrics with basic auth."""

from __future__ import annotations

import json

import yaml

from tests.chart.conftest import CHART, ROOT, by_kind

COPIES = {
    ROOT / "monitoring" / "prometheus" / "rules.yml": CHART / "files" / "prometheus-rules.yaml",
    ROOT / "monitoring" / "grafana" / "sequoia-dashboard.json": CHART / "files" / "grafana-dashboard.json",
}


def test_chart_files_are_copies_of_monitoring():
    stale = [str(copy.relative_to(ROOT)) for source, copy in COPIES.items() if source.read_bytes() != copy.read_bytes()]

    assert stale == [], "run `make chart-files`"


def test_prometheus_rule_and_dashboard_carry_them(rendered):
    objects = rendered["monitoring-values.yaml"]

    rule = by_kind(objects, "PrometheusRule")[0]
    assert rule["spec"] == yaml.safe_load((ROOT / "monitoring/prometheus/rules.yml").read_text())
    dashboard = next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["sequoia.json"]) == json.loads(
        (ROOT / "monitoring/grafana/sequoia-dashboard.json").read_text())


def test_service_monitor_scrapes_api_workers_and_queue_exporter(rendered):
    objects = rendered["monitoring-values.yaml"]

    monitor = by_kind(objects, "ServiceMonitor")[0]["spec"]
    scraped = {s["metadata"]["name"]: [p["name"] for p in s["spec"]["ports"]] for s in by_kind(objects, "Service")
               if s["metadata"].get("labels", {}).get("sequoia.io/scrape") == "true"}
    assert scraped == {"sequoia-api": ["http"], "sequoia-beat-metrics": ["queue-metrics"],
                       "sequoia-worker-media-metrics": ["metrics"], "sequoia-worker-thumbnails-metrics": ["metrics"]}
    assert [e["port"] for e in monitor["endpoints"]] == ["http", "metrics", "queue-metrics"]
    config = next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-config")["data"]
    assert (config["METRICS_PORT"], config["QUEUE_METRICS_PORT"]) == ("9100", "9101")


def _flower_monitors(objects: list[dict]) -> list[dict]:
    return [m for m in by_kind(objects, "ServiceMonitor") if m["metadata"]["name"] == "sequoia-flower"]


def test_flower_is_scraped_with_basic_auth_from_the_secret(rendered):
    objects = rendered["monitoring-values.yaml"]

    monitor = _flower_monitors(objects)[0]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    flower = next(s for s in by_kind(objects, "Service") if s["metadata"]["name"] == "sequoia-flower")
    selected = [s["metadata"]["name"] for s in by_kind(objects, "Service")
                if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
    assert selected == ["sequoia-flower"]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in [p["name"] for p in flower["spec"]["ports"]]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    secrets = {s["metadata"]["name"]: s["stringData"] for s in by_kind(objects, "Secret")}
    auth = endpoint["basicAuth"]
    user, password = (secrets[auth[k]["name"]][auth[k]["key"]] for k in ("username", "password"))
    # The same user and password Flower itself is started with.
    config = next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-config")["data"]
    deployment = next(d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "sequoia-flower")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert user == config["FLOWER_USER"] == "admin"
    assert auth["password"] == env["FLOWER_PASSWORD"]["valueFrom"]["secretKeyRef"] and len(password) >= 20


def test_flower_metrics_path_follows_the_url_prefix(render):
    objects = render(CHART / "ci" / "monitoring-values.yaml", "flower.urlPrefix=flower")

    assert _flower_monitors(objects)[0]["spec"]["endpoints"][0]["path"] == "/flower/metrics"


def test_an_existing_secret_must_hold_the_flower_user(render):
    objects = render(CHART / "ci" / "existing-secret-values.yaml", "metrics.serviceMonitor.enabled=true")

    auth = _flower_monitors(objects)[0]["spec"]["endpoints"][0]["basicAuth"]
    assert auth == {"username": {"name": "sequoia-credentials", "key": "flower-user"},
                    "password": {"name": "sequoia-credentials", "key": "flower-password"}}


def test_flower_is_not_scraped_without_flower_or_service_monitor(render, rendered):
    without_flower = render(CHART / "ci" / "monitoring-values.yaml", "flower.enabled=false")

    assert [m["metadata"]["name"] for m in by_kind(without_flower, "ServiceMonitor")] == ["sequoia"]
    assert by_kind(rendered["default-values.yaml"], "ServiceMonitor") == []
    assert by_kind(rendered["ingress-values.yaml"], "ServiceMonitor") == []
