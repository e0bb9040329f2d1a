"""Every metric a dashboard panel or an alert uses has its series from the start: an API process and a
worker, before any file or task, already expose each family the dashboard and the rules name (the
queue collector's families are scraped in tests/monitoring), and every ingest refusal code and task
failure code starts at zero."""

from __future__ import annotations

import re

from fastapi import FastAPI
from prometheus_client import REGISTRY

from sequoia_api.services.ingest import REJECTION_CODES
from sequoia_api.http.metrics import install_metrics
from sequoia_core.errors import ErrorCode
from sequoia_core.mediatypes import MediaKind
from sequoia_core.task_metrics import TaskMetricsSpec, initialise
from sequoia_core.tasks import GENERATE_DERIVATIVES
from tests.support.services import ROOT

DASHBOARD = ROOT / "monitoring" / "grafana" / "sequoia-dashboard.json"
RULES = ROOT / "monitoring" / "prometheus" / "rules.yml"
# Served by beat's queue collector (a custom collector on its own port), not by the API or a worker.
COLLECTOR_FAMILIES = {"sequoia_queue_depth", "sequoia_queue_oldest_age_seconds", "sequoia_media_items",
                      "sequoia_workers_online", "sequoia_queue_metrics_source_up"}
# Labelled by the request itself (route template and status): the first request makes its series.
REQUEST_FAMILIES = {"sequoia_api_requests_total", "sequoia_api_request_duration_seconds"}


def _used_families() -> set[str]:
    names = set(re.findall(r"sequoia_[a-z0-9_]+", DASHBOARD.read_text() + RULES.read_text()))
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def _exposed_families() -> set[str]:
    return {sample.name.removesuffix("_total").removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
            for family in REGISTRY.collect() for sample in family.samples}


def test_every_family_the_dashboard_and_alerts_use_exists_before_any_work():
    install_metrics(FastAPI())
    initialise(["thumbnails"], [GENERATE_DERIVATIVES], TaskMetricsSpec(lookups={GENERATE_DERIVATIVES: lambda _: None}))

    used = {name.removesuffix("_total") for name in _used_families() - COLLECTOR_FAMILIES - REQUEST_FAMILIES}

    assert used and used <= _exposed_families()


def test_ingest_refusals_start_at_zero_for_every_code():
    install_metrics(FastAPI())

    for code in REJECTION_CODES:
        assert REGISTRY.get_sample_value("sequoia_ingest_rejected_total", {"code": str(code)}) is not None, code


def test_task_failures_start_at_zero_for_every_code_and_kind():
    initialise(["thumbnails"], [GENERATE_DERIVATIVES], TaskMetricsSpec(lookups={GENERATE_DERIVATIVES: lambda _: None}))

    for kind in MediaKind:
        for code in ErrorCode:
            labels = {"queue": "thumbnails", "task": GENERATE_DERIVATIVES, "media_kind": kind.value,
                      "outcome": "failed", "error_code": code.value}
            assert REGISTRY.get_sample_value("sequoia_task_errors_total", labels) is not None, labels
