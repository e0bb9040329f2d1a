"""Upgrades, rollbacks and GitOps: a changed Secret rolls its readers, the settings ConfigMap is an
ordinary release object, hooks only read what exists before them, and values an existing Secret
would silently override are refused."""

from __future__ import annotations

import pytest

from tests.chart.conftest import CHART, by_kind

EXISTING = CHART / "ci" / "existing-secret-values.yaml"
SECRET_READERS = {"sequoia-api", "sequoia-worker-thumbnails", "sequoia-worker-media", "sequoia-beat",
                  "sequoia-flower", "sequoia-redis"}


def _pod_annotations(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"]["template"]["metadata"].get("annotations", {})
            for o in objects if o["kind"] in ("Deployment", "StatefulSet")}


def _hook(obj: dict) -> str:
    return obj["metadata"].get("annotations", {}).get("helm.sh/hook", "")


def test_pods_that_read_the_secret_carry_its_checksum(render):
    one = _pod_annotations(render(None, "auth.apiToken=first-token-aaaaaaaaaaaaaaaaaaaaaaaa"))
    two = _pod_annotations(render(None, "auth.apiToken=second-token-bbbbbbbbbbbbbbbbbbbbbb"))

    for name in SECRET_READERS:
        assert "checksum/secret" in one[name], name
        assert one[name]["checksum/secret"] != two[name]["checksum/secret"], f"{name} would not roll"


def test_with_an_existing_secret_the_checksum_is_stable_across_renders(render):
    one, two = _pod_annotations(render(EXISTING)), _pod_annotations(render(EXISTING))

    assert one["sequoia-api"]["checksum/secret"] == two["sequoia-api"]["checksum/secret"]


def test_the_settings_config_map_is_an_ordinary_object(rendered):
    # helm rollback restores release objects, never hooks.
    config = next(c for c in by_kind(rendered["default-values.yaml"], "ConfigMap")
                  if c["metadata"]["name"] == "sequoia-config")

    assert _hook(config) == ""


@pytest.mark.parametrize("values", ["default-values.yaml", "external-services-values.yaml"])
def test_hooks_read_only_objects_that_exist_before_them(rendered, values):
    objects = rendered[values]
    hooked = {(o["kind"], o["metadata"]["name"]): _hook(o) for o in objects}
    for job in by_kind(objects, "Job"):
        phase = _hook(job).split(",")[0]
        for container in job["spec"]["template"]["spec"]["containers"]:
            refs = [("ConfigMap", s["configMapRef"]["name"]) for s in container.get("envFrom", []) if "configMapRef" in s]
            refs += [("Secret", v["valueFrom"]["secretKeyRef"]["name"]) for v in container.get("env", [])
                     if "secretKeyRef" in v.get("valueFrom", {})]
            for ref in refs:
                if phase.startswith("pre-"):
                    assert phase in hooked.get(ref, ""), f"{job['metadata']['name']} ({phase}) reads {ref} made later"


@pytest.mark.parametrize("value", ["auth.apiToken=given", "flower.password=given",
                                   "externalRedis.password=given", "externalPostgres.password=given",
                                   "s3.accessKeyId=given"])
def test_values_an_existing_secret_would_override_are_refused(render, value):
    with pytest.raises(AssertionError, match=f"{value.split('=')[0]} is ignored with secrets.existingSecret"):
        render(EXISTING, value)

