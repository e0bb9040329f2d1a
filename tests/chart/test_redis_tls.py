"""TLS Redis in the chart: rediss:// for every process, the certificate requirement and the CA bundle
from a Secret mounted where REDIS_TLS_CA_FILE says, and KEDA's TriggerAuthentication with tls and ca."""

from __future__ import annotations

from tests.chart.conftest import CHART, by_kind

EXTERNAL = CHART / "ci" / "external-services-values.yaml"
REDIS_READERS = {"sequoia-api", "sequoia-worker-thumbnails", "sequoia-worker-media", "sequoia-beat", "sequoia-flower"}


def _config(objects: list[dict]) -> dict[str, str]:
    return next(c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"] == "sequoia-config")["data"]


def test_every_redis_reader_gets_the_ca_bundle_and_the_requirement(rendered):
    objects = rendered["external-services-values.yaml"]
    config = _config(objects)

    secret = next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == "sequoia")["stringData"]
    assert secret["redis-url"].startswith("rediss://")
    assert config["REDIS_TLS_CERT_REQS"] == "required"
    ca_file = config["REDIS_TLS_CA_FILE"]
    for deployment in by_kind(objects, "Deployment"):
        name, pod = deployment["metadata"]["name"], deployment["spec"]["template"]["spec"]
        if name not in REDIS_READERS:
            continue
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["redis-tls"]["secret"] == {"secretName": "redis-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
        assert ca_file == mounts["redis-tls"]["mountPath"] + "/ca.crt" and mounts["redis-tls"]["readOnly"], name


def test_without_tls_nothing_of_it_is_rendered(rendered):
    objects = rendered["default-values.yaml"]

    assert not {"REDIS_TLS_CERT_REQS", "REDIS_TLS_CA_FILE"} & _config(objects).keys()
    for deployment in by_kind(objects, "Deployment"):
        assert "redis-tls" not in {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"]}


def test_keda_authenticates_with_tls_and_the_ca(rendered):
    objects = rendered["external-services-values.yaml"]

    auth = by_kind(objects, "TriggerAuthentication")[0]["spec"]["secretTargetRef"]
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth}
    assert refs["password"] == ("sequoia", "redis-password")
    assert refs["ca"] == ("redis-ca", "ca.crt")
    tls_secret = next(s for s in by_kind(objects, "Secret") if s["metadata"]["name"] == refs["tls"][0])
    assert tls_secret["stringData"][refs["tls"][1]] == "enable"
    for scaled in by_kind(objects, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            # KEDA refuses enableTLS in the trigger together with tls in the TriggerAuthentication.
            assert "enableTLS" not in trigger["metadata"] and "unsafeSsl" not in trigger["metadata"]


def test_no_certificate_check_is_said_out_loud_to_keda_too(render):
    objects = render(EXTERNAL, "externalRedis.tls.certReqs=none")

    assert _config(objects)["REDIS_TLS_CERT_REQS"] == "none"
    auth = by_kind(objects, "TriggerAuthentication")[0]["spec"]["secretTargetRef"]
    assert {r["parameter"] for r in auth} == {"password"}
    for scaled in by_kind(objects, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["metadata"]["enableTLS"] == "true" and trigger["metadata"]["unsafeSsl"] == "true"
