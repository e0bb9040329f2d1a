"""What answers give away: security headers on every answer, a strict policy on the gallery page,
and a readiness probe that names no internal host and quotes no exception."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from tests.factories import png_bytes
from tests.integration.helpers import upload

INTERNAL_HOST = "s3.sequoia-internal.invalid"


def test_every_answer_forbids_sniffing_referrers_and_framing(api):
    for response in (api.get("/healthz"), TestClient(api.app).get("/api/async/worker-health"),
                     api.get("/docs")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_gallery_runs_only_its_own_nonced_style_and_script(api, voyage):
    upload(api, voyage, ("a.png", png_bytes()))

    response = api.get(f"/voyages/{voyage}")
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)[1]

    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.text.count(f'nonce="{nonce}"') == 2  # the one <style> and the one <script>
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", response.text)  # no inline event handlers


def test_readiness_names_no_internal_host_and_quotes_no_error(settings):
    broken = settings.model_copy(update={"s3_endpoint_url": f"http://{INTERNAL_HOST}:9000", "s3_create_bucket": False})
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["s3"] == "unavailable"
    assert INTERNAL_HOST not in response.text and "Error" not in response.text
