"""Objects of custom kinds render only where the cluster serves their API: KEDA falls back to the CPU
HPA, the monitoring objects refuse the render with what to install (no "no matches for kind")."""

from __future__ import annotations

import pytest

from tests.chart.conftest import CHART, by_kind, run_helm

MONITORING = CHART / "ci" / "monitoring-values.yaml"


def test_with_keda_installed_workers_scale_with_scaled_objects(render):
    objects = render(None, api_versions=("keda.sh/v1alpha1",))

    assert len(by_kind(objects, "ScaledObject")) == 2
    assert len(by_kind(objects, "TriggerAuthentication")) == 1
    assert by_kind(objects, "HorizontalPodAutoscaler") == []


def test_without_keda_workers_fall_back_to_the_cpu_hpa(render):
    objects = render(None, api_versions=())

    assert by_kind(objects, "ScaledObject") == by_kind(objects, "TriggerAuthentication") == []
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(objects, "HorizontalPodAutoscaler")}
    assert hpas == {"sequoia-worker-thumbnails", "sequoia-worker-media"}
    workers = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] in hpas]
    assert workers and all("replicas" not in d["spec"] for d in workers), "the HPA owns the replica count"


def test_without_keda_notes_say_what_to_install(helm):
    notes = run_helm(helm, "install", "sequoia", str(CHART), "--dry-run=client", "--namespace", "sequoia")

    assert "KEDA is not installed" in notes and "kedacore/keda" in notes


def test_monitoring_objects_render_where_prometheus_operator_is(render):
    objects = render(MONITORING, api_versions=("monitoring.coreos.com/v1",))

    assert len(by_kind(objects, "ServiceMonitor")) == 2
    assert len(by_kind(objects, "PrometheusRule")) == 1


@pytest.mark.parametrize("toggle", ["metrics.prometheusRule.enabled=false", "metrics.serviceMonitor.enabled=false"])
def test_without_prometheus_operator_the_render_names_what_to_install(render, toggle):
    with pytest.raises(AssertionError) as refused:
        render(MONITORING, toggle, api_versions=())

    message = str(refused.value)
    assert "monitoring.coreos.com/v1" in message and "prometheus-operator" in message
    assert "no matches for kind" not in message
