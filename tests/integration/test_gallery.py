"""The voyage gallery page: server-rendered, token by cookie, retry button; seen in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import jpeg_bytes, truncated_jpeg
from tests.integration.helpers import upload
from tests.support.services import TEST_TOKEN

CHROMIUM = shutil.which("chromium")


@pytest.fixture
def gallery_voyage(api, thumbnails_worker, voyage, wait_final):
    body = upload(api, voyage, ("harbour.jpg", jpeg_bytes(800, 600)), ("broken.jpg", truncated_jpeg())).json()
    for item in body["files"]:
        wait_final(item["media_id"])
    return voyage, body["files"][1]


def test_page_lists_every_item_with_thumbnail_state_and_error(api, gallery_voyage):
    gallery_voyage, _ = gallery_voyage
    response = api.get(f"/voyages/{gallery_voyage}")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.count("<figure") == 2
    assert re.search(r'<img src="[^"]*derivatives/[^"]*thumbnail\.jpg', html)
    assert "corrupt_file" in html and "Sign in to retry failed" in html  # a bearer reader has no session


def gallery_link(api, voyage: str) -> str:
    """The signed link the API hands out, as a path and query."""
    url = httpx.URL(api.get(f"/api/voyages/{voyage}/gallery-link").json()["url"])
    return f"{url.path}?{url.query.decode()}"


def test_page_needs_a_token_or_a_link_and_the_link_becomes_a_session(api, gallery_voyage):
    gallery_voyage, _ = gallery_voyage
    browser = TestClient(api.app, follow_redirects=False)
    assert browser.get(f"/voyages/{gallery_voyage}").status_code == 401

    opened = browser.get(gallery_link(api, gallery_voyage))

    assert opened.status_code == 303 and opened.headers["location"] == f"/voyages/{gallery_voyage}"
    cookie = opened.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and TEST_TOKEN not in cookie
    assert browser.get(f"/voyages/{gallery_voyage}").status_code == 200
    assert browser.get(f"/api/async/media-processing-status/{gallery_voyage}").status_code == 200
    assert browser.get("/voyages/another-voyage").status_code == 401  # the session names one voyage
    assert browser.get("/api/async/thumbnail-generation-stats").status_code == 401


def test_a_forged_or_expired_link_is_refused(api, api_state, gallery_voyage):
    gallery_voyage, _ = gallery_voyage
    browser = TestClient(api.app, follow_redirects=False)
    expired, _ = api_state.signer.link(gallery_voyage, now=time.time() - api_state.signer.link_seconds - 1)
    other, _ = api_state.signer.link("another-voyage")

    for value in (expired, other, "9999999999.forged", "nonsense"):
        response = browser.get(f"/voyages/{gallery_voyage}", params={"link": value})
        assert response.status_code == 401 and response.json()["code"] == "invalid_link"


def test_a_token_in_the_query_string_is_refused(api, gallery_voyage):
    gallery_voyage, _ = gallery_voyage

    for path in (f"/voyages/{gallery_voyage}", f"/api/async/media-processing-status/{gallery_voyage}"):
        response = TestClient(api.app).get(path, params={"token": TEST_TOKEN})
        assert response.status_code == 400 and response.json()["code"] == "token_in_url"


def test_retry_needs_a_write_session_its_csrf_token_and_the_same_origin(api, gallery_voyage):
    gallery_voyage, broken = gallery_voyage
    browser = TestClient(api.app, follow_redirects=False)
    browser.get(gallery_link(api, gallery_voyage))
    assert browser.post(f"/voyages/{gallery_voyage}/retry").status_code == 401  # a link only reads
    assert browser.post(f"/voyages/{gallery_voyage}/session", data={"token": "wrong"}).status_code == 401

    signed_in = browser.post(f"/voyages/{gallery_voyage}/session", data={"token": TEST_TOKEN})
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', browser.get(f"/voyages/{gallery_voyage}").text)[1]
    without_csrf = browser.post(f"/voyages/{gallery_voyage}/retry")
    forged = browser.post(f"/voyages/{gallery_voyage}/retry", data={"csrf": csrf},
                          headers={"Origin": "https://evil.example"})
    retried = browser.post(f"/voyages/{gallery_voyage}/retry", data={"csrf": csrf})

    assert signed_in.status_code == 303 and TEST_TOKEN not in signed_in.headers["set-cookie"]
    assert without_csrf.status_code == 403 and forged.status_code == 403
    assert retried.status_code == 303
    assert api.get(f"/api/media/{broken['media_id']}").json()["task_id"] != broken["task_id"]  # requeued


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_chromium_shows_the_thumbnails(api_server, gallery_voyage, tmp_path):
    gallery_voyage, _ = gallery_voyage
    url = httpx.get(f"{api_server}/api/voyages/{gallery_voyage}/gallery-link",
                    headers={"Authorization": f"Bearer {TEST_TOKEN}"}).json()["url"]
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=8000", "--dump-dom", url]

    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout

    assert f"Voyage {gallery_voyage}" in dom
    loaded = re.findall(r'<img[^>]*data-loaded="(\d+)"', dom)
    assert loaded and int(loaded[0]) == 320  # the thumbnail decoded in the browser at its real width
