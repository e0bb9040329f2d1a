"""The voyage gallery page: server-rendered, token by cookie, retry button; seen in headless Chromium."""

from __future__ import annotations

import re
import subprocess

import pytest
from fastapi.testclient import TestClient

from tests.factories import jpeg_bytes, truncated_jpeg
from tests.integration.helpers import upload
from tests.support.services import TEST_TOKEN
from tests.support.tools import require_binary



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
    assert "corrupt_file" in html and "Retry failed" in html


def test_page_needs_a_token_and_the_query_token_becomes_a_cookie(api, gallery_voyage):
    gallery_voyage, _ = gallery_voyage
    anonymous = TestClient(api.app, follow_redirects=False)
    assert anonymous.get(f"/voyages/{gallery_voyage}").status_code == 401

    login = anonymous.get(f"/voyages/{gallery_voyage}", params={"token": TEST_TOKEN})

    assert login.status_code == 303 and "token=" not in login.headers["location"]
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert anonymous.get(f"/voyages/{gallery_voyage}").status_code == 200


def test_retry_button_needs_the_cookie_and_refuses_other_origins(api, gallery_voyage):
    gallery_voyage, broken = gallery_voyage
    browser = TestClient(api.app, follow_redirects=False)
    assert browser.post(f"/voyages/{gallery_voyage}/retry").status_code == 401
    browser.get(f"/voyages/{gallery_voyage}", params={"token": TEST_TOKEN})

    forged = browser.post(f"/voyages/{gallery_voyage}/retry", headers={"Origin": "https://evil.example"})
    retried = browser.post(f"/voyages/{gallery_voyage}/retry")

    assert forged.status_code == 403
    assert retried.status_code == 303
    assert api.get(f"/api/media/{broken['media_id']}").json()["task_id"] != broken["task_id"]  # requeued


def test_chromium_shows_the_thumbnails(api_server, gallery_voyage, tmp_path):
    gallery_voyage, _ = gallery_voyage
    chromium = require_binary("chromium", "chromium")
    url = f"{api_server}/voyages/{gallery_voyage}?token={TEST_TOKEN}"
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=8000", "--dump-dom", url]

    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout

    assert f"Voyage {gallery_voyage}" in dom
    loaded = re.findall(r'<img[^>]*data-loaded="(\d+)"', dom)
    assert loaded and int(loaded[0]) == 320  # the thumbnail decoded in the browser at its real width
