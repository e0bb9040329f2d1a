"""Ingest beyond the basic upload: registration of S3 originals, back-pressure, synchronous mode."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from tests.corpus import ffmpeg
from tests.factories import html_page, jpeg_bytes
from tests.support.services import TEST_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def test_register_an_original_already_in_s3(api, storage, thumbnails_worker, voyage, wait_final):
    key = f"incoming/{voyage}/IMG_0001.jpg"
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=jpeg_bytes(900, 600))

    response = api.post(f"/api/voyages/{voyage}/media/register", json={"items": [{"key": key}]})

    assert response.status_code == 202, response.text
    item = response.json()["files"][0]
    assert item["status"] == "accepted" and item["filename"] == "IMG_0001.jpg"
    done = wait_final(item["media_id"])
    assert done["status"] == "completed" and {d["name"] for d in done["derivatives"]} == {"preview", "thumbnail"}


def test_register_refuses_missing_and_disallowed_objects_one_by_one(api, storage, voyage):
    storage._client.put_object(Bucket=storage.bucket, Key=f"incoming/{voyage}/page.jpg", Body=html_page())
    storage._client.put_object(Bucket=storage.bucket, Key=f"incoming/{voyage}/ok.jpg", Body=jpeg_bytes(64, 64))

    response = api.post(f"/api/voyages/{voyage}/media/register", json={"items": [
        {"key": f"incoming/{voyage}/missing.jpg"},
        {"key": f"incoming/{voyage}/page.jpg"},
        {"key": f"incoming/{voyage}/ok.jpg"},
        {"key": "derivatives/x/y/thumbnail.jpg"},
    ]})

    codes = [f["error"]["code"] if f["error"] else f["status"] for f in response.json()["files"]]
    assert codes == ["original_missing", "unsupported_type", "accepted", "invalid_key"]


def test_register_with_nothing_acceptable_is_415(api, voyage):
    response = api.post(f"/api/voyages/{voyage}/media/register", json={"items": [{"key": "nope/missing.jpg"}]})

    assert response.status_code == 415


def test_backpressure_answers_503_with_retry_after(settings, storage, service_env, voyage):
    # A Redis db no worker reads, with one message waiting, and a limit of zero waiting messages.
    crowded = service_env["REDIS_URL"].rsplit("/", 1)[0] + "/14"
    client = redis.Redis.from_url(crowded)
    client.delete("thumbnails")
    client.lpush("thumbnails", b"{}")
    app = create_app(settings.model_copy(update={"redis_url": crowded, "ingest_max_queue_depth": 0}))
    try:
        with TestClient(app, headers=AUTH) as api:
            response = api.post(f"/api/voyages/{voyage}/media", files=[("files", ("a.jpg", jpeg_bytes(64, 64)))])
    finally:
        client.delete("thumbnails")
        client.close()

    assert response.status_code == 503
    assert response.json()["code"] == "backpressure" and response.headers["Retry-After"] == "30"


def test_synchronous_mode_answers_201_with_the_derivatives(settings, storage, thumbnails_worker, voyage):
    app = create_app(settings.model_copy(update={"async_thumbnails": False}))
    with TestClient(app, headers=AUTH) as api:
        response = api.post(f"/api/voyages/{voyage}/media", files=[("files", ("a.jpg", jpeg_bytes(1000, 500)))])

    assert response.status_code == 201, response.text
    item = response.json()["files"][0]
    assert item["status"] == "completed"
    assert {(d["name"], d["width"]) for d in item["media"]["derivatives"]} == {("preview", 1000), ("thumbnail", 320)}


def test_synchronous_mode_past_its_timeout_answers_202_with_what_still_runs(settings, storage, thumbnails_worker,
                                                                           voyage, wait_final, tmp_path):
    # No item goes from publish to stored derivatives within this test's 10 ms wait (the default is
    # 120 s; a video takes a worker hundreds of ms): the answer must say what still runs, never 201.
    video = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "4", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", str(video))
    app = create_app(settings.model_copy(update={"async_thumbnails": False, "sync_wait_timeout_seconds": 0.01}))
    with TestClient(app, headers=AUTH) as api:
        response = api.post(f"/api/voyages/{voyage}/media", files=[("files", ("clip.mp4", video.read_bytes()))])

    assert response.status_code == 202, response.text
    body = response.json()
    item = body["files"][0]
    assert body["running"] == [item["media_id"]]
    assert item["status"] in ("pending", "queued", "processing", "retrying") and item["media"]["status"] == item["status"]
    assert wait_final(item["media_id"], 120)["status"] == "completed"
