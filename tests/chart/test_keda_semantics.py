"""KEDA's thresholds mean what the values say: activation is "more than", one queued file wakes a
worker scaled to zero, a fallback holds replicas when the queue cannot be read, and impossible bounds
are refused at render time."""

from __future__ import annotations

import re

import pytest

from tests.chart.conftest import ALL_VALUES, by_kind


def _scaled(objects: list[dict]) -> dict[str, dict]:
    return {s["metadata"]["name"]: s["spec"] for s in by_kind(objects, "ScaledObject")}


@pytest.mark.parametrize("values", [p.name for p in ALL_VALUES])
def test_one_queued_file_wakes_a_worker_scaled_to_zero(rendered, values):
    # KEDA activates when the list length is strictly greater than activationListLength.
    for name, spec in _scaled(rendered[values]).items():
        if spec["minReplicaCount"] > 0:
            continue
        assert {t["metadata"]["activationListLength"] for t in spec["triggers"]} == {"0"}, name
        modifiers = spec.get("advanced", {}).get("scalingModifiers")
        if modifiers:
            assert modifiers["activationTarget"] == "0", name


@pytest.mark.parametrize("values", [p.name for p in ALL_VALUES])
def test_a_fallback_holds_replicas_when_the_queue_cannot_be_read(rendered, values):
    for name, spec in _scaled(rendered[values]).items():
        fallback = spec.get("fallback")
        assert fallback, f"{values}: {name} has no fallback"
        assert fallback["failureThreshold"] >= 1
        assert spec["minReplicaCount"] <= fallback["replicas"] <= spec["maxReplicaCount"], name


def test_default_list_length_follows_worker_concurrency(render):
    defaults = _scaled(render(None))
    doubled = _scaled(render(None, "config.WORKER_CONCURRENCY=4"))

    def length(scaled, name):
        return {t["metadata"]["listLength"] for t in scaled[name]["triggers"]}

    assert length(defaults, "sequoia-worker-thumbnails") == {"10"}  # 2 processes x 5 queued each
    assert length(doubled, "sequoia-worker-thumbnails") == {"20"}
    assert length(doubled, "sequoia-worker-media") == {"40"}
    pinned = _scaled(render(None, "config.WORKER_CONCURRENCY=4", "workers.thumbnails.keda.listLength=3"))
    assert length(pinned, "sequoia-worker-thumbnails") == {"3"}


@pytest.mark.parametrize(("sets", "message"), [
    (["workers.thumbnails.keda.listLength=0"], "minimum"),
    (["workers.media.keda.queuedPerProcess=0"], "minimum"),
    (["workers.thumbnails.keda.minReplicaCount=5", "workers.thumbnails.keda.maxReplicaCount=2"],
     "workers.thumbnails.keda.minReplicaCount (5) is above maxReplicaCount (2)"),
    (["workers.media.keda.fallback.replicas=9"], "workers.media.keda.fallback.replicas (9) must lie"),
    (["workers.thumbnails.hpa.minReplicas=6"], "workers.thumbnails.hpa.minReplicas (6) is above maxReplicas (5)"),
])
def test_impossible_bounds_are_refused(render, sets, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        render(None, *sets)
