"""Idempotent writes (Idempotency-Key) and `dedupe=sha256`, on the real API, Postgres, Redis and S3;
the pruner runs on a real media worker."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from sequoia_api.http.idempotency import body_hash
from sequoia_api.schemas import RetryRequest
from sequoia_api.services.idempotency import principal_of
from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from sequoia_core.db import idempotency
from sequoia_media.pruner import prune_idempotency_keys
from tests.factories import html_page, jpeg_bytes, png_bytes
from tests.integration.helpers import upload
from tests.support import services
from tests.support.processes import wait_for
from tests.support.services import TEST_TOKEN

RETRY_ROUTE = "POST /api/async/retry-failed-thumbnails?"


def _items(pool, voyage: str) -> int:
    with pool.connection() as conn:
        return conn.execute("SELECT count(*) FROM media WHERE voyage_slug = %s", (voyage,)).fetchone()[0]


def _key_row(pool, key: str):
    with pool.connection() as conn:
        return idempotency.get(conn, principal_of(TEST_TOKEN), key)


def _post(api, voyage, key, *files, params=None):
    return api.post(f"/api/voyages/{voyage}/media", files=[("files", f) for f in files],
                    headers={"Idempotency-Key": key}, params=params)


def test_a_retried_upload_answers_the_first_answer_and_creates_nothing(api, pool, voyage):
    image = jpeg_bytes(64, 64)
    first = _post(api, voyage, f"k-{voyage}", ("a.jpg", image))
    again = _post(api, voyage, f"k-{voyage}", ("a.jpg", image))

    assert first.status_code == again.status_code == 202, first.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _items(pool, voyage) == 1


def test_the_same_key_for_another_request_is_409_reused(api, pool, voyage):
    key = f"k-{voyage}"
    assert _post(api, voyage, key, ("a.jpg", jpeg_bytes(64, 64))).status_code == 202

    other_file = _post(api, voyage, key, ("a.jpg", jpeg_bytes(64, 65)))
    other_route = api.post("/api/async/retry-failed-thumbnails", json={"voyage_slug": voyage, "dry_run": True},
                           headers={"Idempotency-Key": key})

    for response in (other_file, other_route):
        assert response.status_code == 409 and response.json()["code"] == "idempotency_key_reused"
    assert _items(pool, voyage) == 1


def test_a_duplicate_of_a_running_call_is_409_in_flight_until_the_lease_passes(api, pool, voyage, settings):
    key, body = f"k-{voyage}", RetryRequest(voyage_slug=voyage, dry_run=True)
    with pool.connection() as conn:  # the first call, still running
        assert idempotency.claim(conn, principal_of(TEST_TOKEN), key, RETRY_ROUTE, body_hash(body), timedelta(0))

    running = api.post("/api/async/retry-failed-thumbnails", json=body.model_dump(), headers={"Idempotency-Key": key})
    assert running.status_code == 409 and running.json()["code"] == "idempotency_key_in_flight"
    assert running.headers["Retry-After"] == "1"

    with pool.connection() as conn:  # its API process died: the claim outlives the lease
        conn.execute("UPDATE idempotency_keys SET created_at = now() - %s WHERE key = %s",
                     (timedelta(seconds=settings.idempotency_lease_seconds + 1), key))
    taken_over = api.post("/api/async/retry-failed-thumbnails", json=body.model_dump(),
                          headers={"Idempotency-Key": key})
    assert taken_over.status_code == 200 and taken_over.json() == {"dry_run": True, "count": 0, "items": []}
    assert _key_row(pool, key).status_code == 200


def test_a_failed_call_keeps_nothing_so_its_retry_runs_again(api, pool, voyage):
    key = f"k-{voyage}"
    refused = _post(api, voyage, key, ("page.jpg", html_page()))
    assert refused.status_code == 415
    assert _key_row(pool, key) is None

    fixed = _post(api, voyage, key, ("a.png", png_bytes()))
    assert fixed.status_code == 202 and "Idempotent-Replayed" not in fixed.headers


def test_cancel_and_register_replay_their_first_answer(api, storage, pool, voyage):
    storage._client.put_object(Bucket=storage.bucket, Key=f"incoming/{voyage}/a.jpg", Body=jpeg_bytes(64, 64))
    register = {"items": [{"key": f"incoming/{voyage}/a.jpg"}]}
    first = api.post(f"/api/voyages/{voyage}/media/register", json=register, headers={"Idempotency-Key": "r1"})
    again = api.post(f"/api/voyages/{voyage}/media/register", json=register, headers={"Idempotency-Key": "r1"})
    assert first.status_code == 202 and again.json() == first.json() and _items(pool, voyage) == 1

    task_id = first.json()["files"][0]["task_id"]
    cancel = [api.post(f"/api/async/async-tasks/{task_id}/cancel", headers={"Idempotency-Key": f"c-{voyage}"})
              for _ in range(2)]
    if cancel[0].status_code == 200:  # a worker of another test may have finished it first: a 409, kept nowhere
        assert cancel[1].status_code == 200 and cancel[1].json() == cancel[0].json()
        assert cancel[1].headers["Idempotent-Replayed"] == "true"
    else:
        assert cancel[0].status_code == cancel[1].status_code == 409 and _key_row(pool, f"c-{voyage}") is None


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "caf\u00e9"])
def test_a_malformed_key_is_400(api, voyage, key):
    response = api.post("/api/async/retry-failed-thumbnails", json={"dry_run": True},
                        headers={"Idempotency-Key": key.encode("utf-8")})

    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"


def test_dedupe_answers_the_item_that_already_has_the_content(api, pool, voyage):
    image = jpeg_bytes(80, 60)
    first = upload(api, voyage, ("a.jpg", image)).json()["files"][0]

    again = api.post(f"/api/voyages/{voyage}/media", params={"dedupe": "sha256"},
                                     files=[("files", ("copy.jpg", image)), ("files", ("new.png", png_bytes())),
                                            ("files", ("new-again.png", png_bytes()))])

    assert again.status_code == 202, again.text
    body = again.json()
    assert (body["accepted"], body["duplicates"]) == (1, 2)
    copy, new, new_again = body["files"]
    assert copy["status"] == "duplicate" and copy["duplicate_of"] == copy["media_id"] == first["media_id"]
    assert new["status"] == "accepted" and new_again["duplicate_of"] == new["media_id"]
    assert _items(pool, voyage) == 2

    only_duplicates = api.post(f"/api/voyages/{voyage}/media", params={"dedupe": "sha256"},
                               files=[("files", ("a.jpg", image))])
    assert only_duplicates.status_code == 200 and only_duplicates.json()["batch_id"] is None


def _age_keys(pool, voyage: str, hours: float) -> None:
    with pool.connection() as conn:
        conn.execute("UPDATE idempotency_keys SET created_at = now() - %s WHERE key LIKE %s",
                     (timedelta(hours=hours), f"%{voyage}%"))


def test_keys_are_pruned_past_their_retention_on_beat(api, pool, voyage, service_env, settings, workdir):
    for i in range(3):
        _post(api, voyage, f"old-{i}-{voyage}", ("a.jpg", jpeg_bytes(64, 64 + i)))
    _age_keys(pool, voyage, 25)
    _post(api, voyage, f"new-{voyage}", ("b.jpg", jpeg_bytes(64, 80)))

    assert prune_idempotency_keys(pool, timedelta(hours=24), batch_size=2, budget_seconds=0) == 2
    with services.running_worker(service_env, "sequoia_media.worker", "media", "media-keys", workdir,
                                 settings) as worker:
        result = create_celery_app(settings).send_task(task_names.PRUNE_IDEMPOTENCY_KEYS)
        deadline = time.monotonic() + 30
        while _key_row(pool, f"old-2-{voyage}") and time.monotonic() < deadline:
            time.sleep(0.2)  # polling Postgres for the worker's deletes
        # The pool process logs the success after its last commit: wait for the line, not just the rows.
        wait_for(lambda: f"{result.id}] succeeded" in worker.log(), 30, f"{result.id} succeeded in the worker's log")
    assert [_key_row(pool, f"old-{i}-{voyage}") for i in range(3)] == [None] * 3
    assert _key_row(pool, f"new-{voyage}").status_code == 202


def test_concurrent_duplicates_make_one_item(api_server, pool, voyage):
    image = jpeg_bytes(320, 240)

    def send(_: int) -> httpx.Response:
        return httpx.post(f"{api_server}/api/voyages/{voyage}/media", files=[("files", ("a.jpg", image))],
                          headers={"Authorization": f"Bearer {TEST_TOKEN}", "Idempotency-Key": f"k-{voyage}"},
                          timeout=60)

    with ThreadPoolExecutor(6) as threads:
        answers = list(threads.map(send, range(6)))

    done = [a for a in answers if a.status_code == 202]
    assert all(a.status_code == 202 or a.json()["code"] == "idempotency_key_in_flight" for a in answers)
    assert done and all(a.json() == done[0].json() for a in done)
    assert _items(pool, voyage) == 1
