"""An uploaded original is hashed once, as it is spooled: its PUT carries that SHA-256 as the object's
checksum, which SeaweedFS verifies, instead of botocore hashing the body again to sign it (over http)
and computing a CRC32 besides."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator

import pytest

from sequoia_core.db import media
from sequoia_core.errors import TransientError
from tests.factories import jpeg_bytes


@pytest.fixture
def sent_puts(api_state, monkeypatch) -> Iterator[list[dict[str, str]]]:
    """The headers of every PUT the live app's storage sends during the test (its own signed path)."""
    sent: list[dict[str, str]] = []
    http = api_state.storage._requests._http
    send = http.send

    def record(request):
        if request.method == "PUT":
            sent.append({name: value.decode() if isinstance(value, bytes) else value
                         for name, value in request.headers.items()})
        return send(request)

    monkeypatch.setattr(http, "send", record)
    yield sent


def test_an_uploaded_original_keeps_the_uploads_sha256_as_its_s3_checksum(api, storage, pool, voyage, sent_puts):
    data = jpeg_bytes(640, 480)

    response = api.post(f"/api/voyages/{voyage}/media", files=[("files", ("quay.jpg", data))])

    assert response.status_code == 202, response.text
    with pool.connection() as conn:
        row = media.get_media(conn, response.json()["files"][0]["media_id"])
    assert row.checksum_sha256 == hashlib.sha256(data).hexdigest()
    head = storage._client.head_object(Bucket=storage.bucket, Key=row.original_key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    [headers] = sent_puts
    assert headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"  # the body was not hashed to sign it
    assert "x-amz-checksum-sha256" in headers["Authorization"]  # the checksum is signed instead
    assert not any(name.lower().startswith("x-amz-checksum-crc") for name in headers)


def test_a_put_whose_body_does_not_match_its_sha256_is_refused(storage, voyage):
    key = f"originals/{voyage}/mismatch/original.jpg"

    with pytest.raises(TransientError):
        storage.put_stream(key, io.BytesIO(b"the bytes sent"), "image/jpeg",
                           sha256=hashlib.sha256(b"other bytes").digest())

    assert storage._client.list_objects_v2(Bucket=storage.bucket, Prefix=key).get("KeyCount") == 0
