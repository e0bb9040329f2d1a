"""Hostile keys to `register`: only allowed prefixes of the call's own voyage, in normal form, each
refused on its own; accepted objects are size-checked and copied (ETag-pinned) to the item's own key,
and the worker never downloads more than the limit."""

from __future__ import annotations

import pytest

from sequoia_core.errors import ObjectNotFound, PermanentError
from tests.factories import jpeg_bytes

HOSTILE_KEYS = [
    "incoming/other-voyage/IMG.jpg",  # another voyage's drop folder
    "originals/other-voyage/0b0c0d0e-0000-4000-8000-000000000000/original.jpg",  # Sequoia's own originals
    "derivatives/other-voyage/0b0c0d0e-0000-4000-8000-000000000000/thumbnail.jpg",
    "/incoming/{voyage}/IMG.jpg",  # a leading slash
    "incoming/{voyage}/../other-voyage/IMG.jpg",
    "incoming/{voyage}/./IMG.jpg",
    "incoming/{voyage}//IMG.jpg",
    "a/./b",
    ".",
    "incoming/{voyage}/",  # the prefix itself
]


def _register(api, voyage: str, *keys: str):
    return api.post(f"/api/voyages/{voyage}/media/register", json={"items": [{"key": k} for k in keys]})


def test_each_hostile_key_is_refused_on_its_own_and_the_good_one_goes_on(api, storage, voyage):
    good = f"incoming/{voyage}/IMG.jpg"
    storage._client.put_object(Bucket=storage.bucket, Key=good, Body=jpeg_bytes(64, 64))
    keys = [k.format(voyage=voyage) for k in HOSTILE_KEYS]

    response = _register(api, voyage, *keys, good)

    assert response.status_code == 202, response.text
    files = response.json()["files"]
    assert [f["error"]["code"] for f in files[:-1]] == ["invalid_key"] * len(keys)
    assert files[-1]["status"] == "accepted"


def test_a_batch_of_only_malformed_keys_is_the_callers_4xx_not_a_503(api, voyage):
    response = _register(api, voyage, "a/./b", ".", "/x")

    assert response.status_code == 415 and {f["error"]["code"] for f in response.json()["detail"]["files"]} == {
        "invalid_key"}


def test_an_accepted_object_is_copied_to_the_items_own_key(api, storage, voyage, wait_final, thumbnails_worker):
    key = f"incoming/{voyage}/photo.jpg"
    original = jpeg_bytes(300, 200)
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=original)

    item = _register(api, voyage, key).json()["files"][0]
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=b"replaced by the pipeline later")
    done = wait_final(item["media_id"])

    own = f"originals/{voyage}/{item['media_id']}/original.jpg"
    assert done["status"] == "completed"
    assert storage._client.get_object(Bucket=storage.bucket, Key=own)["Body"].read() == original


def test_an_object_over_the_limit_is_refused_from_its_head(api, api_state, storage, voyage, monkeypatch):
    key = f"incoming/{voyage}/big.jpg"
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=jpeg_bytes(64, 64))
    monkeypatch.setattr(api_state.settings, "max_upload_bytes", 100)

    files = _register(api, voyage, key).json()["detail"]["files"]

    assert files[0]["error"]["code"] == "file_too_large"


def test_the_copy_is_refused_when_the_object_changed_since_its_head(storage, voyage):
    key = f"incoming/{voyage}/moving.jpg"
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=jpeg_bytes(64, 64))

    with pytest.raises(PermanentError) as refused:
        storage.copy(key, f"originals/{voyage}/copy.jpg", '"0123456789abcdef0123456789abcdef"', "image/jpeg")

    assert refused.value.code == "original_changed"


def test_the_worker_download_is_capped(storage, voyage, tmp_path):
    key = f"originals/{voyage}/capped/original.jpg"
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=bytes(10_000))

    with pytest.raises(PermanentError) as refused:
        storage.download(key, tmp_path / "original.jpg", max_bytes=1000)
    storage.download(key, tmp_path / "whole.jpg", max_bytes=10_000)

    assert refused.value.code == "file_too_large" and not (tmp_path / "original.jpg").exists()
    assert (tmp_path / "whole.jpg").stat().st_size == 10_000


def test_the_worker_downloads_an_empty_object_and_refuses_a_missing_one(storage, voyage, tmp_path):
    key = f"originals/{voyage}/empty/original.jpg"
    storage._client.put_object(Bucket=storage.bucket, Key=key, Body=b"")

    storage.download(key, tmp_path / "empty.jpg", max_bytes=1000)  # no byte 0 to range over: 416
    with pytest.raises(ObjectNotFound):
        storage.download(f"originals/{voyage}/missing/original.jpg", tmp_path / "missing.jpg", max_bytes=1000)

    assert (tmp_path / "empty.jpg").read_bytes() == b""
