"""Every engine in a real Celery worker: each seed media kind completes, and the hostile corpus fails
item by item with its exact code while the worker process lives on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from sequoia_core import dispatch
from tests.corpus import conformance, hostile, stubborn
from tests.factories import jpeg_bytes
from tests.integration.helpers import ingest_unpublished, upload


def _object(storage, key: str) -> bytes:
    return storage._client.get_object(Bucket=storage.bucket, Key=key)["Body"].read()


@pytest.mark.parametrize(("maker", "kind", "derivatives"), [
    (conformance.exif_rotated_jpeg, "image", {"preview": (600, 800), "thumbnail": (240, 320)}),
    (stubborn.heic, "image", {"preview": (800, 600), "thumbnail": (320, 240)}),
    (stubborn.rotated_avif, "image", {"preview": (800, 600), "thumbnail": (320, 240)}),
    (conformance.ten_page_pdf, "pdf", {"thumbnail": (248, 320)}),
    (conformance.plain_mp4, "video", {"preview": (640, 360), "thumbnail": (320, 180)}),
    (conformance.mono_mp3, "audio", {"waveform": (1800, 280), "peaks": (None, None)}),
])
def test_each_media_kind_gets_its_derivatives(api, thumbnails_worker, storage, voyage, wait_final, tmp_path,
                                              maker, kind, derivatives):
    path: Path = maker(tmp_path)
    item = upload(api, voyage, (path.name, path.read_bytes())).json()["files"][0]
    assert item["media_kind"] == kind

    done = wait_final(item["media_id"], 90)

    assert done["status"] == "completed", done
    assert {d["name"]: (d["width"], d["height"]) for d in done["derivatives"]} == derivatives
    for derivative in done["derivatives"]:
        key = f"derivatives/{voyage}/{item['media_id']}/{derivative['name']}."
        data = _object(storage, key + {"jpeg": "jpg"}.get(derivative["format"], derivative["format"]))
        if derivative["format"] == "json":
            assert json.loads(data)["version"] == 2
        else:
            with Image.open(io.BytesIO(data)) as image:
                assert image.size == (derivative["width"], derivative["height"])
                assert image.convert("L").getextrema()[1] > 0
    if kind in ("video", "audio"):
        assert done["metadata"]["duration"] > 0 and done["metadata"]["codec"]


@pytest.mark.parametrize(("maker", "code"), [
    (hostile.truncated_mp4, "corrupt_file"),
    (hostile.lying_png, "corrupt_file"),
    (hostile.pixel_flood_png, "image_too_large"),
    (hostile.encrypted_pdf, "encrypted_pdf"),
    (hostile.pdf_stream_bomb, "content_too_large"),
    (hostile.audio_only_mp4, "no_stream"),
    # Needs more than the test worker's RENDER_MEMORY_LIMIT_MB (256): the render child dies, not the worker.
    (lambda folder: _giant_gif(folder), "render_crashed"),
    # Draws for minutes: killed at the test worker's RENDER_TIME_LIMIT_SECONDS (20).
    (hostile.pdf_slow_page, "timeout"),
])
def test_hostile_files_fail_with_their_code_and_the_worker_lives(api, thumbnails_worker, voyage, wait_final,
                                                                 tmp_path, maker, code):
    path: Path = maker(tmp_path)
    item = upload(api, voyage, (path.name, path.read_bytes())).json()["files"][0]

    failed = wait_final(item["media_id"], 90)

    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == code, failed["error"]
    assert failed["derivatives"] == []
    assert thumbnails_worker.alive()
    good = upload(api, voyage, ("after.jpg", jpeg_bytes(800, 600))).json()["files"][0]
    assert wait_final(good["media_id"], 60)["status"] == "completed"


def test_playlist_that_reached_storage_is_refused_by_the_worker(api, api_state, thumbnails_worker, storage,
                                                                voyage, wait_final, tmp_path):
    """An HLS playlist stored as an .mp4 original (registered before the sniffing, or replaced in S3)
    is refused by the worker's own sniffing, and ffmpeg never sees it."""
    video = conformance.one_frame_mp4(tmp_path)
    _, entries = ingest_unpublished(api_state, voyage, ("clip.mp4", video.read_bytes()))
    before = api.get(f"/api/media/{entries[0].media_id}").json()
    playlist = hostile.hls_playlist(Path("/etc/passwd"), "http://127.0.0.1:9/segment.ts")
    key = f"originals/{voyage}/{entries[0].media_id}/original.mp4"
    storage.put_stream(key, io.BytesIO(playlist), "video/mp4")
    assert before["status"] in ("pending", "queued")

    dispatch.publish_entries(api_state.pool, api_state.celery, entries)
    failed = wait_final(entries[0].media_id, 60)

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "unsupported_type"
    assert thumbnails_worker.alive()


def _giant_gif(folder: Path) -> Path:
    """9000×9000 (under the pixel limit), 100 KiB on disk, ~330 MB to decode."""
    path = folder / "giant.gif"
    Image.new("P", (9000, 9000), 3).save(path)
    return path


def test_original_deleted_from_storage_fails_with_original_missing(api, api_state, thumbnails_worker, storage,
                                                                   voyage, wait_final):
    """An original removed from S3 after ingest fails its item with `original_missing` (retryable once
    it is back), not with `internal_error`."""
    _, entries = ingest_unpublished(api_state, voyage, ("gone.jpg", jpeg_bytes(320, 240)))
    item = api.get(f"/api/media/{entries[0].media_id}").json()
    storage._client.delete_object(Bucket=storage.bucket, Key=f"originals/{voyage}/{item['id']}/original.jpg")

    dispatch.publish_entries(api_state.pool, api_state.celery, entries)
    failed = wait_final(entries[0].media_id, 60)

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "original_missing", failed["error"]
    assert thumbnails_worker.alive()
