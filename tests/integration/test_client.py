"""The client library against the real API server (uvicorn), Postgres, S3 and a thumbnails worker:
a retried ingest replays its first answer, progress reaches every byte, dedupe, stable links."""

from __future__ import annotations

import httpx
import pytest

from sequoia_client import Client, ResponseError
from tests.factories import jpeg_bytes, png_bytes
from tests.support.services import TEST_TOKEN


@pytest.fixture
def client(api_server):
    with Client(api_server, TEST_TOKEN) as sequoia:
        yield sequoia


def test_an_ingest_retried_with_its_key_replays_the_first_answer(client, tmp_path, voyage):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(640, 480))
    progress: list[tuple[int, int]] = []

    first = client.ingest(voyage, [photo], idempotency_key=f"ingest-{voyage}",
                          on_progress=lambda sent, total: progress.append((sent, total)))
    retried = client.ingest(voyage, [photo], idempotency_key=f"ingest-{voyage}")

    assert first["accepted"] == 1 and retried == first
    assert progress[-1] == (photo.stat().st_size, photo.stat().st_size)
    assert client.voyage_status(voyage)["total"] == 1
    with pytest.raises(ResponseError) as reused:
        client.ingest(voyage, [photo], idempotency_key=f"ingest-{voyage}", dedupe=True)
    assert reused.value.status_code == 409 and reused.value.code == "idempotency_key_reused"


def test_dedupe_and_the_stable_link_of_a_finished_item(client, thumbnails_worker, tmp_path, voyage, wait_final):
    picture = tmp_path / "p.png"
    picture.write_bytes(png_bytes())
    media_id = client.ingest(voyage, [picture])["files"][0]["media_id"]
    wait_final(media_id)

    again = client.ingest(voyage, [picture], dedupe=True)
    assert again["batch_id"] is None and again["files"][0]["duplicate_of"] == media_id

    thumbnail = next(d for d in client.media(media_id)["derivatives"] if d["name"] == "thumbnail")
    assert thumbnail["link"].endswith(f"/{media_id}/derivatives/thumbnail")
    fetched = httpx.get(client.derivative_url(media_id, "thumbnail"))
    assert fetched.status_code == 200 and fetched.content[:2] == b"\xff\xd8"  # a JPEG thumbnail (OUTPUT_FORMAT)


def test_a_small_file_goes_straight_to_s3_and_backfill_waits_its_turn(client, thumbnails_worker, tmp_path, voyage,
                                                                    wait_final):
    photo = tmp_path / "direct.jpg"
    photo.write_bytes(jpeg_bytes(320, 240))
    progress: list[tuple[int, int]] = []

    [item] = client.upload_direct(voyage, photo, priority="backfill",
                                  on_progress=lambda sent, total: progress.append((sent, total)))["files"]

    finished = wait_final(item["media_id"])
    assert finished["status"] == "completed" and finished["priority"] == "backfill"
    assert progress == [(photo.stat().st_size, photo.stat().st_size)]


def test_deleting_an_item_and_a_voyage(client, tmp_path, voyage):
    photos = [tmp_path / f"{n}.jpg" for n in range(2)]
    for n, photo in enumerate(photos):
        photo.write_bytes(jpeg_bytes(64 + n, 48))
    first, second = (f["media_id"] for f in client.ingest(voyage, photos, priority="backfill")["files"])
    assert client.media(first)["priority"] == "backfill"

    assert client.delete_media(first)["media_id"] == first
    with pytest.raises(ResponseError) as gone:
        client.media(first)
    assert gone.value.status_code == 404
    assert client.delete_voyage(voyage)["deleted"] == 1
    with pytest.raises(ResponseError):
        client.media(second)
