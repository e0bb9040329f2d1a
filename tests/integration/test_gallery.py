"""The voyage gallery page: server-rendered, token by cookie, retry button; in headless Chromium, live counts too."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from sequoia_thumbnails.renderers import thumbhash
from tests.factories import jpeg_bytes, truncated_jpeg
from tests.integration.helpers import upload
from tests.support.processes import wait_for
from tests.support.services import TEST_TOKEN
from tests.support.tools import require_binary

# Headless, and nothing that talks to the network besides the page under test.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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
    assert re.search(r'<img src="/api/media/[0-9a-f-]{36}/derivatives/thumbnail"', html)  # the stable link
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


def test_chromium_shows_the_thumbnails(api_server, gallery_voyage, tmp_path):
    gallery_voyage, _ = gallery_voyage
    chromium = require_binary("chromium", "chromium")
    url = httpx.get(f"{api_server}/api/voyages/{gallery_voyage}/gallery-link",
                    headers={"Authorization": f"Bearer {TEST_TOKEN}"}).json()["url"]
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
               "--virtual-time-budget=8000", "--dump-dom", url]

    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout

    assert f"Voyage {gallery_voyage}" in dom
    loaded = re.findall(r'<img[^>]*data-loaded="(\d+)"', dom)
    assert loaded and int(loaded[0]) == 320  # the thumbnail decoded in the browser at its real width
    assert re.search(r'<img[^>]*data-thumbhash="[^"]+"[^>]*style="background-image: none;"', dom)  # placeholder gone


class Page:
    """One tab of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.calls = 0

    def call(self, method: str, **params) -> dict:
        """Send one DevTools command and return its reply."""
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while (reply := json.loads(self.socket.recv(timeout=30))).get("id") != self.calls:
            pass  # events of the page
        return reply

    def open(self, url: str) -> None:
        """Navigate the tab to `url`."""
        assert "error" not in self.call("Page.navigate", url=url)

    def evaluate(self, expression: str, **options):
        """The expression's JSON value in the page, or None while the page is (re)loading."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True, **options)
        result = reply.get("result", {})
        return None if "error" in reply or "exceptionDetails" in result else result["result"].get("value")


@contextmanager
def chromium_page(profile: Path) -> Iterator[Page]:
    """A headless Chromium with one blank tab to drive."""
    browser = subprocess.Popen([require_binary("chromium", "chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        active = profile / "DevToolsActivePort"  # Chromium writes its chosen port here
        port = wait_for(lambda: active.exists() and active.read_text().split("\n")[0], 30, "DevTools port")
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            yield Page(socket)
    finally:
        browser.kill()
        browser.wait(timeout=30)


COUNTS = """(() => {
  const count = id => Number(document.getElementById(id).textContent);
  return {total: count("count-total"), queued: count("count-queued"), completed: count("count-completed"),
          same_document: window.sameDocument === true};
})()"""


@contextmanager
def thumbnails_paused(api_state) -> Iterator[None]:
    """The worker stays up but stops taking from the `thumbnails` queue, so items wait in flight."""
    control = api_state.celery.control
    assert control.cancel_consumer("thumbnails", reply=True, timeout=5), "no worker left the queue"
    try:
        yield
    finally:
        assert control.add_consumer("thumbnails", reply=True, timeout=5), "no worker came back to the queue"


def test_chromium_counts_items_in_flight_live(api, api_state, api_server, thumbnails_worker, voyage, tmp_path):
    """The page's own script keeps the counts current: new waiting items appear without a reload,
    and the same tab reaches `completed` once the worker takes the queue again."""
    with chromium_page(tmp_path / "profile") as page:
        with thumbnails_paused(api_state):
            upload(api, voyage, ("first.jpg", jpeg_bytes(640, 480)))
            page.open(api_server + gallery_link(api, voyage))
            opened = wait_for(lambda: page.evaluate(COUNTS), 60, "the gallery page")
            assert (opened["total"], opened["queued"], opened["completed"]) == (1, 1, 0)
            page.evaluate("window.sameDocument = true")  # a reload would forget it

            upload(api, voyage, ("second.jpg", jpeg_bytes(640, 480)), ("third.jpg", jpeg_bytes(320, 240)))
            waiting = wait_for(lambda: (c := page.evaluate(COUNTS)) and c["total"] == 3 and c, 60, "3 items counted")
            assert (waiting["queued"], waiting["completed"], waiting["same_document"]) == (3, 0, True)

        done = wait_for(lambda: (c := page.evaluate(COUNTS)) and c["completed"] == 3 and c, 90, "3 completed")
        assert (done["total"], done["queued"]) == (3, 0)


PLACEHOLDER = """(async () => {
  const img = document.querySelector("img[data-thumbhash]");
  if (!img || !img.style.backgroundImage.startsWith('url("data:')) return null;
  const picture = new Image();
  picture.src = img.style.backgroundImage.slice(5, -2);
  await picture.decode();
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [picture.width, picture.height];
  const context = canvas.getContext("2d");
  context.drawImage(picture, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const sums = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sums[c] += data[i + c];
  return {painted: img.style.backgroundImage.slice(0, 26), loaded: img.dataset.loaded || null,
          placeholder: [picture.width, picture.height], box: [img.clientWidth, img.clientHeight],
          mean: sums.map(s => s / (data.length / 4) / 255)};
})()"""


def test_chromium_paints_the_thumbhash_while_the_thumbnail_loads(api, api_server, gallery_voyage, tmp_path):
    """With the thumbnails held back (blocked in the browser), each card shows its ThumbHash, decoded by
    the page's own script under its CSP: the right colours in the thumbnail's box."""
    voyage, broken = gallery_voyage
    batch_id = api.get(f"/api/media/{broken['media_id']}").json()["batch_id"]
    rows = api.get(f"/api/batches/{batch_id}").json()["items"]
    items = [api.get(f"/api/media/{row['media_id']}").json() for row in rows]
    (shown,) = [i for i in items if i["thumbhash"]]  # the broken file has no picture, so no placeholder
    expected = thumbhash.average_rgba(base64.b64decode(shown["thumbhash"]))[:3]
    with chromium_page(tmp_path / "profile") as page:
        page.call("Network.enable")
        page.call("Network.setBlockedURLs", urls=["*/derivatives/*"])
        page.open(api_server + gallery_link(api, voyage))
        seen = wait_for(lambda: page.evaluate(PLACEHOLDER, awaitPromise=True), 60, "the painted placeholder")

    assert seen["painted"] == 'url("data:image/png;base64' and seen["loaded"] is None
    width, height = seen["placeholder"]
    assert width == 32 and width / height == pytest.approx(4 / 3, rel=0.1)  # as the 800×600 original, nearly
    assert seen["box"][0] > 100 and seen["box"][1] > 70  # the thumbnail's box, before any pixel arrived
    assert seen["mean"] == pytest.approx(expected, abs=0.05)
