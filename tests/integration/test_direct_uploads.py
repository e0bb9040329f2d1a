"""Direct uploads against real SeaweedFS, Postgres, Redis and a thumbnails worker: the client PUTs to
the presigned URLs with httpx (one PUT, or parts of a multipart upload), the completion registers the
object, and what is refused or abandoned leaves nothing behind.

The app here uses S3's smallest part size, 5 MiB, as part size and multipart threshold: with the
production 64 MiB parts (100 MiB threshold) each multipart case would push over 100 MiB through the
test's S3; the code path is the same at any size."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from sequoia_client import Client
from sequoia_api.services.direct_uploads import part_size_for
from sequoia_core import tasks as task_names
from sequoia_core.db.pool import transaction
from sequoia_core.queues import QueueName, queue_for
from sequoia_media.uploads import abort_expired_uploads
from tests.factories import jpeg_bytes
from tests.integration.helpers import keys_under
from tests.support import services
from tests.support.services import TEST_TOKEN

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def public_endpoint(service_env) -> str:
    """Another spelling of the same S3 endpoint: presigned URLs must name it, not S3_ENDPOINT_URL."""
    return service_env["S3_ENDPOINT_URL"].replace("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def uploads_api(service_env, storage, public_endpoint) -> Iterator[TestClient]:
    env = {**service_env, "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(5 * MiB), "UPLOAD_PART_SIZE_BYTES": str(5 * MiB),
           "S3_PUBLIC_ENDPOINT_URL": public_endpoint}
    with TestClient(create_app(services.settings_from(env)), headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as api:
        yield api


def _big_jpeg(size: int) -> bytes:
    """A real JPEG padded after its end marker (decoders stop there) to `size` bytes."""
    picture = jpeg_bytes(640, 480)
    return picture + b"\0" * (size - len(picture))


def _open_multipart_uploads(storage, key: str) -> list[str]:
    answer = storage._client.list_multipart_uploads(Bucket=storage.bucket, Prefix=key)
    return [u["UploadId"] for u in answer.get("Uploads", [])]


def _put_parts(ticket: dict, data: bytes) -> list[dict]:
    parts, offset = [], 0
    for part in ticket["parts"]:
        chunk = data[offset:offset + part["size_bytes"]]
        offset += len(chunk)
        answer = httpx.put(part["url"], content=chunk, timeout=60)
        assert answer.status_code == 200, answer.text
        parts.append({"part_number": part["part_number"], "etag": answer.headers["etag"]})
    assert offset == len(data)
    return parts


def test_a_small_file_goes_up_in_one_presigned_put_and_is_registered(uploads_api, storage, thumbnails_worker, voyage,
                                                                     wait_final, public_endpoint):
    data = jpeg_bytes(800, 600)
    created = uploads_api.post(f"/api/voyages/{voyage}/uploads",
                               json={"filename": "deck 1.jpg", "size_bytes": len(data)})

    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["method"] == "single" and ticket["parts"] == []
    assert ticket["key"] == f"incoming/{voyage}/{ticket['upload_id']}/deck_1.jpg"
    assert ticket["url"].startswith(public_endpoint + "/")
    assert httpx.put(ticket["url"], content=data, timeout=60).status_code == 200
    done = uploads_api.post(f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete")

    assert done.status_code == 202, done.text
    [item] = done.json()["files"]
    assert item["status"] == "accepted" and item["filename"] == "deck 1.jpg"
    assert wait_final(item["media_id"])["status"] == "completed"
    assert keys_under(storage, f"incoming/{voyage}/") == [], "the uploaded object goes once the item has its copy"
    again = uploads_api.post(f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete")
    assert again.status_code == 409 and again.json()["code"] == "upload_completed"


def test_a_completed_upload_is_forgotten_once_expired(uploads_api, storage, pool, voyage):
    data = jpeg_bytes(64, 64)
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads", json={"filename": "f.jpg", "size_bytes": len(data)}
                              ).json()
    httpx.put(ticket["url"], content=data, timeout=60)
    url = f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete"
    assert uploads_api.post(url).status_code == 202
    with transaction(pool) as conn:
        conn.execute("UPDATE direct_uploads SET expires_at = now() - interval '1 second' WHERE id = %s",
                     (ticket["upload_id"],))

    abort_expired_uploads(pool, storage)

    assert uploads_api.post(url).status_code == 404


def test_a_large_file_goes_up_in_presigned_parts_and_is_registered(uploads_api, storage, thumbnails_worker, voyage,
                                                                   wait_final, public_endpoint):
    data = _big_jpeg(11 * MiB)
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads",
                              json={"filename": "big.jpg", "size_bytes": len(data)}).json()

    assert ticket["method"] == "multipart" and ticket["part_size"] == 5 * MiB and ticket["url"] is None
    assert [p["size_bytes"] for p in ticket["parts"]] == [5 * MiB, 5 * MiB, MiB]
    assert all(p["url"].startswith(public_endpoint + "/") for p in ticket["parts"])
    parts = _put_parts(ticket, data)
    done = uploads_api.post(f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete", json={"parts": parts})

    assert done.status_code == 202, done.text
    [item] = done.json()["files"]
    finished = wait_final(item["media_id"])
    assert finished["status"] == "completed" and finished["size_bytes"] == len(data)
    assert _open_multipart_uploads(storage, ticket["key"]) == []
    assert keys_under(storage, f"incoming/{voyage}/") == []


def test_wrong_parts_are_refused_and_the_upload_stays_open_for_the_right_ones(uploads_api, storage, voyage):
    data = _big_jpeg(6 * MiB)
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads",
                              json={"filename": "p.jpg", "size_bytes": len(data)}).json()
    parts = _put_parts(ticket, data)
    url = f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete"

    wrong = uploads_api.post(url, json={"parts": [{**parts[0], "etag": '"0123"'}, parts[1]]})
    missing = uploads_api.post(url)

    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_parts", wrong.text
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_parts"
    assert uploads_api.post(url, json={"parts": parts}).status_code == 202


def test_a_file_of_another_size_than_declared_is_removed_with_its_upload(uploads_api, storage, voyage):
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads", json={"filename": "s.jpg", "size_bytes": 5000}).json()
    url = f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete"

    early = uploads_api.post(url)
    httpx.put(ticket["url"], content=jpeg_bytes(64, 64), timeout=60)
    mismatch = uploads_api.post(url)

    assert early.status_code == 409 and early.json()["code"] == "upload_incomplete"
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "size_mismatch"
    assert keys_under(storage, f"incoming/{voyage}/") == []
    assert uploads_api.post(url).status_code == 404


def test_a_file_of_a_type_not_allowed_is_refused_and_removed(uploads_api, storage, voyage):
    data = b"#!/bin/sh\necho not a picture\n" * 10
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads",
                              json={"filename": "x.jpg", "size_bytes": len(data)}).json()
    httpx.put(ticket["url"], content=data, timeout=60)

    refused = uploads_api.post(f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete")

    assert refused.status_code == 415 and refused.json()["detail"]["files"][0]["error"]["code"] == "unsupported_type"
    assert keys_under(storage, f"incoming/{voyage}/") == []


@pytest.mark.parametrize(("body", "code"), [
    ({"filename": "huge.mp4", "size_bytes": 3 * 1024**3}, "file_too_large"),
    ({"filename": "zero.jpg", "size_bytes": 0}, "invalid_request"),
    ({"filename": "a\x07b.jpg", "size_bytes": 10}, "invalid_request"),
    ({"filename": "", "size_bytes": 10}, "invalid_request"),
    ({"filename": "n.jpg", "size_bytes": "10"}, "invalid_request"),
])
def test_bad_upload_requests_answer_422_with_a_stable_code(uploads_api, pool, voyage, body, code):
    answer = uploads_api.post(f"/api/voyages/{voyage}/uploads", json=body)

    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    with transaction(pool) as conn:
        assert conn.execute("SELECT count(*) FROM direct_uploads WHERE voyage_slug = %s", (voyage,)).fetchone()[0] == 0


def test_completing_an_unknown_or_other_voyages_upload_is_404(uploads_api, voyage):
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads", json={"filename": "o.jpg", "size_bytes": 10}).json()

    assert uploads_api.post(f"/api/voyages/{voyage}/uploads/{uuid4()}/complete").status_code == 404
    assert uploads_api.post(f"/api/voyages/other-{voyage}/uploads/{ticket['upload_id']}/complete").status_code == 404


def test_an_abandoned_multipart_upload_is_aborted_once_expired(uploads_api, storage, pool, voyage):
    data = _big_jpeg(6 * MiB)
    ticket = uploads_api.post(f"/api/voyages/{voyage}/uploads",
                              json={"filename": "gone.jpg", "size_bytes": len(data)}).json()
    first = ticket["parts"][0]
    assert httpx.put(first["url"], content=data[:first["size_bytes"]], timeout=60).status_code == 200
    assert _open_multipart_uploads(storage, ticket["key"])

    abort_expired_uploads(pool, storage)
    assert _open_multipart_uploads(storage, ticket["key"]), "an upload not yet expired is left alone"
    with transaction(pool) as conn:
        conn.execute("UPDATE direct_uploads SET expires_at = now() - interval '1 second' WHERE id = %s",
                     (ticket["upload_id"],))
    abort_expired_uploads(pool, storage)

    assert _open_multipart_uploads(storage, ticket["key"]) == []
    answer = uploads_api.post(f"/api/voyages/{voyage}/uploads/{ticket['upload_id']}/complete")
    assert answer.status_code == 404


def test_part_size_grows_past_s3s_part_limit():
    assert part_size_for(10 * MiB, 5 * MiB) == 5 * MiB
    assert part_size_for(100_000 * MiB, 5 * MiB) == 10 * MiB


def test_expired_uploads_are_aborted_on_beat_on_the_media_queue(settings):
    from sequoia_media.worker import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}

    assert schedule[task_names.ABORT_EXPIRED_UPLOADS] == settings.orphan_sweep_interval_seconds
    assert queue_for(task_names.ABORT_EXPIRED_UPLOADS) is QueueName.MEDIA
    assert settings.upload_expiry_seconds == 86400


def test_the_client_sends_a_large_file_in_parts_with_progress(uploads_api, storage, thumbnails_worker, voyage,
                                                             wait_final, tmp_path):
    """`Client.upload_direct` follows the ticket: three streamed part PUTs, then the completion."""
    path = tmp_path / "big.jpg"
    path.write_bytes(_big_jpeg(11 * MiB))
    progress: list[tuple[int, int]] = []
    with Client("http://testserver", TEST_TOKEN, transport=uploads_api._transport) as client:
        done = client.upload_direct(voyage, path, priority="backfill",
                                    on_progress=lambda sent, total: progress.append((sent, total)))

    [item] = done["files"]
    finished = wait_final(item["media_id"])
    assert finished["status"] == "completed" and finished["size_bytes"] == 11 * MiB
    assert finished["priority"] == "backfill"
    assert progress == [(5 * MiB, 11 * MiB), (10 * MiB, 11 * MiB), (11 * MiB, 11 * MiB)]
    assert keys_under(storage, f"incoming/{voyage}/") == []
