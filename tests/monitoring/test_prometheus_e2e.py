"""Proof against a real Prometheus: a workload with deliberate failures, then every expression of
the dashboard and of the alert rules, asked through Prometheus's HTTP API, returns series with
plausible values; the failure ratio is the injected one and the queue depth is Redis's LLEN."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
import redis
import yaml

from sequoia_core.broker import queue_keys
from sequoia_core.celery_app import create_celery_app
from tests.factories import html_page, jpeg_bytes, truncated_jpeg
from tests.monitoring.conftest import Stack
from tests.monitoring.support import DASHBOARD, RULES, Prometheus, finite
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

GOOD, BAD, BACKLOG, SERVER_ERRORS = 6, 3, 3, 8
WINDOW = "5m"  # what `$__rate_interval` stands for here: the whole run, from the workers' zero samples
THUMBNAIL_TASKS = 'sequoia_tasks_total{queue="thumbnails", outcome=~"succeeded|failed"}'


def _ingest(stack: Stack, voyage: str, files: list[tuple[str, bytes]]) -> dict:
    response = httpx.post(f"{stack.api_url}/api/voyages/{voyage}/media", headers=stack.headers, timeout=30,
                          files=[("files", (name, data)) for name, data in files])
    assert response.status_code == 202, response.text
    return response.json()


def _wait_batch_final(stack: Stack, batch_id: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{stack.api_url}/api/batches/{batch_id}", headers=stack.headers, timeout=10).json()
        if body["finished"] == body["total_items"]:
            return body
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} not final after {timeout}s: {body}\n{stack.thumbnails.log()[-3000:]}")


def _server_errors(stack: Stack) -> None:
    """A replica whose S3 is unreachable answers /readyz with 503, a real 5xx of the API. The first
    one creates the series; the rest come a few scrapes later, so `rate()` sees them."""
    assert httpx.get(f"{stack.broken_api_url}/readyz", timeout=30).status_code == 503
    stack.prometheus.wait_for('sequoia_api_requests_total{status="503"}', lambda v: True)
    for _ in range(SERVER_ERRORS - 1):
        assert httpx.get(f"{stack.broken_api_url}/readyz", timeout=30).status_code == 503


def _stop_consuming_thumbnails(stack: Stack) -> None:
    """The worker stays up (and scraped) but leaves the queue: work waits with nobody to do it."""
    app = create_celery_app(stack.settings)
    node = f"{stack.thumbnails.name}@"
    replies = app.control.cancel_consumer("thumbnails", reply=True, timeout=5)
    assert any(node in next(iter(reply)) for reply in replies), replies
    stack.prometheus.wait_for('sequoia_workers_online{queue="thumbnails"}', lambda v: max(v.values()) == 0)


def _rules() -> tuple[dict[str, str], dict[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    return ({r["record"]: r["expr"] for r in rules if "record" in r},
            {r["alert"]: r["expr"] for r in rules if "alert" in r})


def _dashboard_targets() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(panel["title"], target["expr"].replace("$__rate_interval", WINDOW))
            for panel in panels if panel["type"] != "row" for target in panel["targets"]]


def _panel(title: str) -> list[str]:
    return [expr for panel_title, expr in _dashboard_targets() if panel_title == title]


def _history(prom: Prometheus, selector: str) -> str:
    """The raw samples of the last minutes, for an assertion message."""
    return "\n".join(f"{s['metric']} {[v for _, v in s['values']]}" for s in prom.query(f"{selector}[5m]"))


@pytest.fixture(scope="module")
def workload(stack: Stack) -> dict[str, int]:
    """Good and corrupt images, one refused file, 5xx answers, then a backlog nobody consumes."""
    prom = stack.prometheus
    # The workers' series start at zero: wait until Prometheus saw them so, and every rate is exact.
    prom.wait_for('sequoia_tasks_total{queue="thumbnails", media_kind="image"}', lambda v: len(v) == 5)
    prom.wait_for("up", lambda v: len(v) == 6 and min(v.values()) == 1)
    files = [(f"good-{i}.jpg", jpeg_bytes(320, 240)) for i in range(GOOD)]
    files += [(f"bad-{i}.jpg", truncated_jpeg()) for i in range(BAD)] + [("page.html", html_page())]
    body = _ingest(stack, "monitoring-e2e", files)
    assert (body["accepted"], body["rejected"]) == (GOOD + BAD, 1)
    batch = _wait_batch_final(stack, body["batch_id"])
    assert batch["counts"] == {"completed": GOOD, "failed": BAD}, batch
    # A scrape may have preceded the last task (a busy machine times scrapes out): wait until
    # Prometheus holds every outcome, so each rate below covers the whole workload.
    prom.wait_for(f"sum({THUMBNAIL_TASKS})", lambda v: sum(v.values()) == GOOD + BAD, timeout=90)
    _server_errors(stack)
    _stop_consuming_thumbnails(stack)
    backlog = _ingest(stack, "monitoring-backlog", [(f"late-{i}.jpg", jpeg_bytes(64, 48)) for i in range(BACKLOG)])
    assert backlog["accepted"] == BACKLOG
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    llen = sum(client.llen(key) for key in queue_keys("thumbnails"))
    client.close()
    prom.wait_for('sequoia_queue_depth{queue="thumbnails"}', lambda v: max(v.values()) == llen)
    # Every rule evaluates each second; give the alerts a few evaluations to turn pending.
    prom.wait_for('ALERTS{alertname="SequoiaWorkersUnavailable"}', lambda v: True)
    return {"llen": llen}


def test_every_recording_rule_returns_plausible_series(stack: Stack, workload: dict[str, int]) -> None:
    prom = stack.prometheus
    records, _ = _rules()
    for name, expr in records.items():
        values = prom.values(expr)
        assert finite(values), f"recording rule {name} returned nothing: {expr}"
        assert all(v >= 0 for v in finite(values).values()), (name, values)
        assert prom.values(name), f"Prometheus did not record {name}"
    depth = prom.values(records["sequoia:queue_depth:max"])
    assert depth["queue=thumbnails"] == workload["llen"] == BACKLOG
    assert prom.values(records["sequoia:workers_online:max"])["queue=thumbnails"] == 0
    assert prom.values(records["sequoia:workers_online:max"])["queue=media"] >= 1
    age = prom.values(records["sequoia:queue_oldest_age_seconds:max"])["queue=thumbnails"]
    assert 0 < age < 300
    ratio = prom.values(records["sequoia:task_failure_ratio:rate5m"])["queue=thumbnails"]
    assert ratio == pytest.approx(BAD / (GOOD + BAD), abs=1e-9), _history(prom, THUMBNAIL_TASKS)
    assert 0 < prom.values(records["sequoia:api_5xx_ratio:rate5m"])[""] <= 1


def test_counts_of_every_prefork_child_survive_its_replacement(stack: Stack, workload: dict[str, int]) -> None:
    # Children are replaced every 3 tasks, and the files of dead ones folded: nothing may be missing.
    prom = stack.prometheus
    outcomes = prom.values('sum by (outcome) (sequoia_tasks_total{queue="thumbnails", media_kind="image"})')
    counted = (outcomes["outcome=succeeded"], outcomes["outcome=failed"])
    assert counted == (GOOD, BAD), _history(prom, THUMBNAIL_TASKS)
    errors = prom.values('sum by (error_code) (sequoia_task_errors_total{queue="thumbnails"})')
    assert {code: n for code, n in errors.items() if n} == {"error_code=corrupt_file": BAD}
    assert errors["error_code=timeout"] == 0  # every code has its series from the start
    ends = prom.values('sum(sequoia_media_end_to_end_seconds_count{media_kind="image"})')
    assert ends[""] == GOOD
    ingested = prom.values("sum by (media_kind) (sequoia_ingest_files_total)")
    assert ingested["media_kind=image"] == GOOD + BAD + BACKLOG
    rejected = prom.values("sum by (code) (sequoia_ingest_rejected_total)")
    assert {code: n for code, n in rejected.items() if n} == {"code=unsupported_type": 1}
    assert rejected["code=file_too_large"] == 0  # every refusal code has its series from the start


def test_every_alert_returns_series_when_its_condition_holds(stack: Stack, workload: dict[str, int]) -> None:
    prom = stack.prometheus
    _, alerts = _rules()
    # The workload trips these three as they are shipped.
    for name in ("SequoiaWorkersUnavailable", "SequoiaTaskFailureRateHigh", "SequoiaApiErrorRateHigh"):
        assert finite(prom.values(alerts[name])), f"{name} should hold in this workload: {alerts[name]}"
    assert set(prom.values(alerts["SequoiaWorkersUnavailable"])) == {"queue=thumbnails"}
    # A backlog of 3 waiting seconds trips these with their threshold lowered to 0.
    for name in ("SequoiaQueueDepthHigh", "SequoiaProcessingDelayHigh"):
        lowered = re.sub(r">\s*[0-9.]+\s*$", "> 0", alerts[name].strip())
        assert lowered != alerts[name].strip(), f"{name}: no trailing threshold in {alerts[name]}"
        assert "queue=thumbnails" in prom.values(lowered), f"{name} lowered to 0 returned nothing: {lowered}"
    # Healthy exporter: the missing-metrics alert stays quiet and its signal is all ones.
    assert prom.values(alerts["SequoiaQueueMetricsMissing"]) == {}
    sources = prom.values("min by (source) (sequoia_queue_metrics_source_up)")
    assert sources == {"source=celery": 1, "source=postgres": 1, "source=redis": 1}
    # Nothing was lost or reclaimed in this workload: the recovery alerts stay quiet (promtool's
    # tests.yml shows them firing).
    recovery = ("SequoiaWorkersLostRepeatedly", "SequoiaBrokerLostMessages", "SequoiaRecoverySlow")
    # No webhook endpoint in this workload: every attempt series is 0, and 0/0 must not alert.
    webhooks = ("SequoiaWebhookDeliveriesFailing", "SequoiaWebhookEventsDropped")
    for name in (*recovery, *webhooks):
        assert prom.values(alerts[name]) == {}, name
    assert set(alerts) == {"SequoiaWorkersUnavailable", "SequoiaTaskFailureRateHigh", "SequoiaApiErrorRateHigh",
                           "SequoiaQueueDepthHigh", "SequoiaProcessingDelayHigh", "SequoiaQueueMetricsMissing",
                           *recovery, *webhooks}


def test_prometheus_loads_the_rules_and_the_alerts_go_pending(stack: Stack, workload: dict[str, int]) -> None:
    prom = stack.prometheus
    rules = [rule for group in prom.get("/api/v1/rules")["groups"] for rule in group["rules"]]
    assert len(rules) == 17
    assert all(rule["health"] == "ok" for rule in rules), [r for r in rules if r["health"] != "ok"]
    prom.wait_for("ALERTS", lambda v: {"SequoiaTaskFailureRateHigh", "SequoiaApiErrorRateHigh"}
                  <= {k.split("alertname=")[1].split(",")[0] for k in v})
    states = {alert["labels"]["alertname"]: alert["state"] for alert in prom.get("/api/v1/alerts")["alerts"]}
    for name in ("SequoiaWorkersUnavailable", "SequoiaTaskFailureRateHigh", "SequoiaApiErrorRateHigh"):
        assert states.get(name) in ("pending", "firing"), states


def test_every_dashboard_panel_query_returns_plausible_series(stack: Stack, workload: dict[str, int]) -> None:
    prom = stack.prometheus
    for title, expr in _dashboard_targets():
        values = finite(prom.values(expr))
        assert values, f"panel {title!r} shows no data: {expr}"
        assert all(v >= 0 for v in values.values()), (title, values)
    (ratio_expr,) = _panel("Failure ratio, by queue")
    assert prom.values(ratio_expr)["queue=thumbnails"] == pytest.approx(BAD / (GOOD + BAD), abs=1e-9)
    (depth_expr,) = _panel("Queue depth")
    assert prom.values(depth_expr)["queue=thumbnails"] == workload["llen"]
    for quantile in _panel("End-to-end latency (ingest to stored derivatives), by media kind"):
        assert 0 < prom.values(quantile)["media_kind=image"] < 120


def test_flower_is_scraped_with_basic_auth(stack: Stack, workload: dict[str, int]) -> None:
    prom = stack.prometheus
    instance = stack.flower_url.removeprefix("http://")
    assert prom.values('up{job="flower"}') == {f"instance={instance},job=flower": 1}
    assert prom.values("sum(flower_events_total)")[""] > 0


def test_flower_turns_on_the_workers_task_events(stack: Stack, workload: dict[str, int]) -> None:
    """Workers start without `-E`: Flower's `enable_events` broadcast makes them send task events, so
    Flower sees tasks run to their end (a task-sent event alone leaves a task PENDING)."""
    def run_to_an_end() -> list[str]:
        tasks = httpx.get(f"{stack.flower_url}/api/tasks", auth=stack.flower_auth, timeout=10).json()
        return [task_id for task_id, task in tasks.items() if task["state"] in ("SUCCESS", "FAILURE")]

    wait_for(run_to_an_end, 60, "a task Flower saw run to its end")
