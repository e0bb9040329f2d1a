"""Metric names and labels follow Prometheus conventions, and docs/monitoring.md covers each one."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import Counter, Histogram

from sequoia_core import metrics

ROOT = Path(__file__).resolve().parents[2]
QUEUE_COLLECTOR = ROOT / "services" / "worker-media" / "src" / "sequoia_media" / "queue_metrics.py"
FORBIDDEN_LABELS = {"media_id", "task_id", "id", "voyage_slug", "voyage", "batch_id", "filename", "path", "worker"}


def collectors() -> list[Counter | Histogram]:
    return [value for value in vars(metrics).values() if isinstance(value, (Counter, Histogram))]


def exposed_names() -> set[str]:
    """Every family name Sequoia exposes: the core collectors and the queue collector's gauges."""
    names = {c._name + ("_total" if isinstance(c, Counter) else "") for c in collectors()}
    return names | set(re.findall(r'"(sequoia_[a-z_]+)"', QUEUE_COLLECTOR.read_text()))


def test_names_are_prefixed_and_carry_their_unit():
    for collector in collectors():
        assert collector._name.startswith("sequoia_"), collector._name
        if isinstance(collector, Histogram):
            assert collector._name.endswith("_seconds"), collector._name
    for name in exposed_names():
        assert name.startswith("sequoia_") and not name.endswith("_count"), name


def test_labels_stay_low_in_cardinality():
    for collector in collectors():
        assert not FORBIDDEN_LABELS & set(collector._labelnames), (collector._name, collector._labelnames)
        assert len(collector._labelnames) <= 5, collector._name


def test_the_docs_describe_every_metric():
    docs = (ROOT / "docs" / "monitoring.md").read_text()
    missing = sorted(name for name in exposed_names() if f"`{name}`" not in docs)
    assert not missing, f"docs/monitoring.md does not describe {missing}"
