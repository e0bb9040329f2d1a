"""The chart ships monitoring/'s Prometheus rules and Grafana dashboard unchanged, and scrapes every
metrics port the services open."""

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
