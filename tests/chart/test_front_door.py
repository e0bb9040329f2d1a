"""The chart's part of the front door: what the Ingress routes, whose forwarded headers the API
believes, and the tokens and link secret kept in the release Secret."""

from __future__ import annotations

from tests.chart.conftest import CI_VALUES, by_kind

INGRESS_VALUES = next(p for p in CI_VALUES if p.name == "ingress-values.yaml")


def _api_container(objects: list[dict]) -> dict:
    deployment = next(d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("-api"))
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_the_ingress_routes_only_the_public_surface(rendered):
    ingress = by_kind(rendered["ingress-values.yaml"], "Ingress")[0]
    api_paths = {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}

    assert api_paths == {"/api/", "/voyages/", "/docs", "/openapi.json"}  # never /metrics or /readyz


def test_the_api_believes_forwarded_headers_only_from_the_trusted_proxies(render):
    default = _api_container(render(INGRESS_VALUES))["command"]
    trusted = _api_container(render(INGRESS_VALUES, "api.trustedProxies=10.42.0.0/16"))["command"]

    assert default[default.index("--forwarded-allow-ips") + 1] == "127.0.0.1"
    assert trusted[trusted.index("--forwarded-allow-ips") + 1] == "10.42.0.0/16"


def test_tokens_and_the_link_secret_live_in_the_secret(render):
    objects = render(INGRESS_VALUES, "auth.readTokens=r1", "auth.writeTokens=w1@alpha")
    secret = next(s for s in by_kind(objects, "Secret") if "link-secret" in s.get("stringData", {}))
    env = {e["name"]: e for e in _api_container(objects)["env"]}

    assert secret["stringData"]["read-tokens"] == "r1" and secret["stringData"]["api-tokens"] == "w1@alpha"
    assert len(secret["stringData"]["link-secret"]) >= 32
    for name in ("SEQUOIA_READ_TOKENS", "SEQUOIA_API_TOKENS", "GALLERY_LINK_SECRET"):
        assert "secretKeyRef" in env[name]["valueFrom"]


def test_the_ingress_carries_nginx_limits_that_annotations_override(render):
    default = by_kind(render(INGRESS_VALUES), "Ingress")[0]["metadata"]["annotations"]
    overridden = by_kind(render(INGRESS_VALUES, "ingress.nginx.proxyReadTimeout=120",
                                "ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-body-size=8m"),
                         "Ingress")[0]["metadata"]["annotations"]

    assert default["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "60"
    assert default["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "60"
    assert default["nginx.ingress.kubernetes.io/proxy-body-size"] == "2g"
    assert overridden["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "120"
    assert overridden["nginx.ingress.kubernetes.io/proxy-body-size"] == "8m"
