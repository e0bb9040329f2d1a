"""Auth and error shapes of the API, against the real app."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from tests.factories import png_bytes


def test_ingest_without_token_is_401(api):
    anonymous = TestClient(api.app)
    response = anonymous.post("/api/voyages/v1/media", files=[("files", ("a.png", png_bytes()))])

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_ingest_with_wrong_token_is_401(api):
    response = api.post("/api/voyages/v1/media", files=[("files", ("a.png", png_bytes()))],
                        headers={"Authorization": "Bearer not-the-token"})

    assert response.status_code == 401


def test_reads_need_a_token_by_default(api):
    assert TestClient(api.app).get(f"/api/media/{uuid4()}").status_code == 401


def test_unknown_media_is_404_with_code(api):
    response = api.get(f"/api/media/{uuid4()}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_bad_media_id_is_422_not_500(api):
    response = api.get("/api/media/not-a-uuid")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_bad_voyage_slug_is_422(api):
    response = api.post("/api/voyages/Bad_Slug!/media", files=[("files", ("a.png", png_bytes()))])

    assert response.status_code == 422


def test_ingest_without_files_is_422(api):
    assert api.post("/api/voyages/v1/media").status_code == 422


def test_readyz_reports_every_service(api):
    response = api.get("/readyz")

    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "s3": "ok"}


def test_healthz_needs_no_token(api):
    assert TestClient(api.app).get("/healthz").json() == {"status": "ok"}


def test_unknown_query_parameter_is_refused(api):
    response = api.get("/api/async/thumbnail-generation-stats", params={"windw": "1h"})

    assert response.status_code == 422 and "windw" in response.json()["message"]


def test_register_refuses_a_key_with_control_characters(api):
    response = api.post("/api/voyages/v1/media/register", json={"items": [{"key": "a\u0000b"}]})

    assert response.status_code == 422
