"""Stable derivative links: `GET /api/media/{id}/derivatives/{name}` redirects to a fresh presigned
URL, for a reader of the item's voyage only (real API, Postgres, S3 and a thumbnails worker)."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import jpeg_bytes
from tests.integration.helpers import upload


@pytest.fixture
def done_item(api, thumbnails_worker, voyage, wait_final):
    media_id = upload(api, voyage, ("harbour.jpg", jpeg_bytes(800, 600))).json()["files"][0]["media_id"]
    return wait_final(media_id)


def test_the_link_redirects_to_a_fresh_presigned_url_with_private_caching(api, done_item, settings):
    thumbnail = next(d for d in done_item["derivatives"] if d["name"] == "thumbnail")
    assert thumbnail["link"] == f"/api/media/{done_item['id']}/derivatives/thumbnail"

    response = api.get(thumbnail["link"], follow_redirects=False)

    assert response.status_code == 302
    cache_control = response.headers["Cache-Control"]
    assert cache_control.startswith("private, max-age=")
    assert 0 < int(cache_control.rsplit("=", 1)[1]) < settings.presign_expiry_seconds
    picture = httpx.get(response.headers["Location"])
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"


def test_a_link_needs_a_reader_of_the_items_voyage(api, done_item, voyage):
    link = f"/api/media/{done_item['id']}/derivatives/thumbnail"
    anonymous = TestClient(api.app, follow_redirects=False)
    missing = "/api/media/00000000-0000-4000-8000-000000000000/derivatives/thumbnail"
    for path in (link, missing):  # refused before the lookup: a caller learns nothing of which items exist
        assert anonymous.get(path).status_code == 401
        assert anonymous.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401

    def session_of(slug: str) -> TestClient:
        browser = TestClient(api.app, follow_redirects=False)
        url = httpx.URL(api.get(f"/api/voyages/{slug}/gallery-link").json()["url"])
        assert browser.get(f"{url.path}?{url.query.decode()}").status_code == 303
        return browser

    assert session_of(voyage).get(link).status_code == 302  # the gallery's own session
    other = session_of(f"{voyage}-other").get(link)
    assert other.status_code == 401 and other.json()["code"] == "unauthorized"


def test_a_missing_item_or_derivative_is_404(api, done_item):
    missing_item = api.get("/api/media/00000000-0000-4000-8000-000000000000/derivatives/thumbnail")
    missing_name = api.get(f"/api/media/{done_item['id']}/derivatives/waveform")

    assert missing_item.status_code == 404 and missing_item.json()["code"] == "not_found"
    assert missing_name.status_code == 404 and missing_name.json()["code"] == "derivative_not_found"
