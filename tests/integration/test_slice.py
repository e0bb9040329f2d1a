"""The vertical slice end to end: upload → S3 → Celery worker → derivatives → Postgres → API."""

from __future__ import annotations

import io

import redis
from PIL import Image

from sequoia_core.db import batches, media
from tests.factories import html_page, jpeg_bytes, png_bytes, truncated_jpeg
from tests.integration.helpers import keys_under


def _upload(api, voyage: str, *files: tuple[str, bytes]):
    return api.post(f"/api/voyages/{voyage}/media", files=[("files", (name, data)) for name, data in files])


def test_jpeg_upload_gets_preview_and_thumbnail_in_s3(api, thumbnails_worker, storage, pool, voyage, wait_final):
    response = _upload(api, voyage, ("harbour.jpg", jpeg_bytes(1600, 1200)))

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1 and body["batch_id"]
    item = body["files"][0]
    assert item["status"] == "accepted" and item["media_kind"] == "image" and item["task_id"]

    done = wait_final(item["media_id"])
    assert done["status"] == "completed", done
    sizes = {d["name"]: (d["width"], d["height"]) for d in done["derivatives"]}
    assert sizes == {"preview": (1280, 960), "thumbnail": (320, 240)}

    with pool.connection() as conn:
        row = media.get_media(conn, item["media_id"])
        batch = batches.get_batch(conn, body["batch_id"])
    assert row.processing_status == "completed" and row.attempts == 1
    assert batch.batch_status == "completed"
    for derivative in row.derivatives:
        assert derivative["key"] == f"derivatives/{voyage}/{row.id}/{derivative['name']}.jpg"
        data = storage._client.get_object(Bucket=storage.bucket, Key=derivative["key"])["Body"].read()
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == ("JPEG", (derivative["width"], derivative["height"]))
            assert image.convert("L").getextrema()[1] > 0  # not blank
    assert keys_under(storage, f"originals/{voyage}/{row.id}/") == [row.original_key]


def test_truncated_jpeg_fails_with_code_and_worker_survives(api, thumbnails_worker, voyage, wait_final):
    bad = _upload(api, voyage, ("broken.jpg", truncated_jpeg())).json()["files"][0]

    failed = wait_final(bad["media_id"])

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "corrupt_file"
    assert failed["derivatives"] == []
    assert thumbnails_worker.alive()
    good = _upload(api, voyage, ("after.png", png_bytes())).json()["files"][0]
    assert wait_final(good["media_id"])["status"] == "completed"


def test_many_files_in_one_request_make_one_batch(api, thumbnails_worker, pool, voyage, wait_final):
    response = _upload(api, voyage, ("a.jpg", jpeg_bytes(800, 600)), ("b.png", png_bytes()),
                       ("c.jpg", jpeg_bytes(300, 200)))

    body = response.json()
    assert response.status_code == 202 and body["accepted"] == 3
    finals = [wait_final(f["media_id"]) for f in body["files"]]
    assert [f["status"] for f in finals] == ["completed"] * 3
    assert finals[2]["derivatives"][0]["width"] == 300  # never upscaled
    batch = api.get(f"/api/batches/{body['batch_id']}").json()
    assert batch["batch_status"] == "completed" and batch["finished"] == 3


def test_unsupported_file_is_refused_per_file_and_others_go_on(api, thumbnails_worker, voyage):
    response = _upload(api, voyage, ("page.jpg", html_page()), ("ok.png", png_bytes()))

    assert response.status_code == 202
    files = {f["filename"]: f for f in response.json()["files"]}
    assert files["page.jpg"]["status"] == "rejected"
    assert files["page.jpg"]["error"]["code"] == "unsupported_type"
    assert files["ok.png"]["status"] == "accepted"


def test_only_unsupported_files_answer_415(api, voyage):
    response = _upload(api, voyage, ("page.jpg", html_page()))

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_type"


def test_media_row_and_outbox_row_commit_together(api, thumbnails_worker, pool, voyage, wait_final):
    item = _upload(api, voyage, ("x.png", png_bytes())).json()["files"][0]
    wait_final(item["media_id"])

    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT task_id, published_at IS NOT NULL FROM task_outbox WHERE media_id = %s", (item["media_id"],)
        ).fetchall()
    assert [(str(r[0]), r[1]) for r in rows] == [(item["task_id"], True)]


def test_a_finished_render_leaves_no_result_in_redis(api, thumbnails_worker, settings, voyage, wait_final):
    # Nothing reads task results (state lives in Postgres): a noeviction Redis must not fill with them.
    item = _upload(api, voyage, ("quiet.png", png_bytes())).json()["files"][0]
    assert wait_final(item["media_id"])["status"] == "completed"

    client = redis.Redis.from_url(settings.redis_url)
    try:
        assert client.exists(f"celery-task-meta-{item['task_id']}") == 0
    finally:
        client.close()
