"""Start-up order: the bucket exists before the API serves, made by an init step that waits for S3
(SeaweedFS in the chart may answer long after the API pod starts)."""

from __future__ import annotations

import pytest

from tests.chart.conftest import by_kind


def _api_pod(objects: list[dict]) -> dict:
    return next(d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "sequoia-api")["spec"]["template"]["spec"]


@pytest.mark.parametrize("values", ["seaweedfs-values.yaml", "kind-values.yaml"])
def test_the_bucket_is_made_by_an_init_step_that_waits_for_s3(rendered, values):
    pod = _api_pod(rendered[values])
    init = {c["name"]: c for c in pod.get("initContainers", [])}

    assert init["bucket"]["command"] == ["python", "-m", "sequoia_core.bucket", "--wait-seconds", "600"]
    assert init["bucket"]["image"] == pod["containers"][0]["image"]
    assert init["bucket"]["envFrom"] == pod["containers"][0]["envFrom"]
    assert {e["name"] for e in init["bucket"]["env"]} >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert init["bucket"]["securityContext"]["readOnlyRootFilesystem"] is True


def test_without_create_bucket_the_api_starts_without_an_init_step(rendered):
    assert "initContainers" not in _api_pod(rendered["default-values.yaml"])
