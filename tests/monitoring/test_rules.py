"""The alert rules under `promtool`, and the shape of the rules, the dashboard and the docs."""

from __future__ import annotations

import json
import re
import subprocess

import yaml

from tests.monitoring.support import DASHBOARD, RULES
from tests.support.services import ROOT
from tests.support.tools import require_binary

DOCS = ROOT / "docs" / "monitoring.md"
SCRAPE_EXAMPLE = ROOT / "monitoring" / "prometheus" / "prometheus.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("promtool", "prometheus"), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _anchor(title: str) -> str:
    """A heading's anchor as GitHub renders it."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def test_rules_are_valid_prometheus_rules() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_and_stays_quiet_as_the_unit_tests_say() -> None:
    result = _promtool("test", "rules", str(RULES.parent / "tests.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_keeps_it_quiet() -> None:
    tests = yaml.safe_load((RULES.parent / "tests.yml").read_text())["tests"]
    checks = [check for test in tests for check in test.get("alert_rule_test", [])]
    for alert in (rule["alert"] for rule in _rules() if "alert" in rule):
        mine = [check for check in checks if check["alertname"] == alert]
        assert any(check["exp_alerts"] for check in mine), f"no test shows {alert} firing"
        assert any(not check["exp_alerts"] for check in mine), f"no test shows {alert} staying quiet"


def test_every_alert_has_summary_description_and_a_runbook_in_the_docs() -> None:
    headings = {_anchor(line.lstrip("#").strip()) for line in DOCS.read_text().splitlines() if line.startswith("#")}
    for rule in (rule for rule in _rules() if "alert" in rule):
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        anchor = annotations["runbook_url"].split("#", 1)[1]
        assert anchor == rule["alert"].lower() and anchor in headings, f"no runbook section for {rule['alert']}"


def test_the_example_scrape_config_is_valid(tmp_path) -> None:
    # The example reads the Flower password from var/run/flower-password (written by `make prometheus`).
    config = tmp_path / "prometheus.yml"
    text = SCRAPE_EXAMPLE.read_text().replace("../../var/run/flower-password", str(tmp_path / "password"))
    config.write_text(text.replace("- rules.yml", f"- {RULES}"))
    (tmp_path / "password").write_text("secret")
    result = _promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_is_a_grafana_dashboard_with_a_query_in_every_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]
        assert "[5m]" not in json.dumps(panel["targets"]), f"{panel['title']}: use $__rate_interval"
    titles = " ".join(panel["title"].lower() for panel in panels)
    for topic in ("outcome", "failure", "latency", "queue depth", "oldest", "workers online", "api"):
        assert topic in titles, f"no panel about {topic}"
