"""Deleting items and voyages against real Postgres, Redis, SeaweedFS and real workers: every read
forgets them at once, work in flight stops, and the media worker's deleter leaves nothing of them in
the bucket, also when a render finishes after the delete and when S3 was down for a while."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from sequoia_core import dispatch, liveness
from sequoia_core import tasks as task_names
from sequoia_core.celery_app import create_celery_app
from sequoia_core.db import deletions
from sequoia_core.db.media import Run
from sequoia_core.db.pool import transaction
from sequoia_core.queues import QueueName, queue_for
from sequoia_core.redis_client import redis_client
from sequoia_core.storage import Storage
from sequoia_media.deleter import remove_deleted
from sequoia_thumbnails import derivatives
from sequoia_thumbnails.context import ThumbnailsContext
from sequoia_thumbnails.derivatives import Job
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import hostile
from tests.factories import jpeg_bytes, png_bytes
from tests.integration.helpers import ingest_unpublished, keys_under, upload
from tests.support import services
from tests.support.processes import wait_for
from tests.support.services import WorkerProcess


@pytest.fixture(scope="module")
def media_worker(service_env, settings, storage, workdir) -> Iterator[WorkerProcess]:
    """A real worker on the `media` queue; the tests send its deleter task as beat would."""
    with services.running_worker(service_env, "sequoia_media.worker", "media", "deleter", workdir, settings) as worker:
        yield worker


@pytest.fixture(scope="module")
def beat(settings):
    """Sends the deleter's task, like one beat tick."""
    app = create_celery_app(settings)
    yield lambda: app.send_task(task_names.REMOVE_DELETED)
    app.close()


def _bucket_keys(storage: Storage, voyage: str) -> list[str]:
    return keys_under(storage, f"originals/{voyage}/") + keys_under(storage, f"derivatives/{voyage}/")


def _deletion(pool, media_id):
    with transaction(pool) as conn:
        return deletions.get_deletion(conn, media_id)


def _until_done(pool, beat, media_worker: WorkerProcess, media_ids, timeout: float = 60.0) -> None:
    """Tick the deleter, at most twice a second like a brisk beat, until every deletion is done
    (polling Postgres for the worker's answer)."""
    deadline = time.monotonic() + timeout
    while not all(_deletion(pool, media_id).completed_at for media_id in media_ids):
        assert media_worker.alive(), media_worker.log()[-2000:]
        assert time.monotonic() < deadline, f"deletions not done within {timeout} s: {media_worker.log()[-2000:]}"
        beat()
        time.sleep(0.5)


def test_deleting_an_item_forgets_it_and_empties_its_keys(api, storage, pool, thumbnails_worker, media_worker, beat,
                                                          voyage, wait_final):
    kept, gone = upload(api, voyage, ("kept.jpg", jpeg_bytes(640, 480)), ("gone.jpg", jpeg_bytes(640, 480))
                        ).json()["files"]
    for item in (kept, gone):
        wait_final(item["media_id"])
    assert any(gone["media_id"] in key for key in _bucket_keys(storage, voyage))

    answer = api.delete(f"/api/media/{gone['media_id']}")

    assert answer.status_code == 202, answer.text
    assert answer.json() | {"state": "pending", "terminated": False, "voyage_slug": voyage} == answer.json()
    missing = api.get(f"/api/media/{gone['media_id']}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert api.get(f"/api/async/async-tasks/{gone['task_id']}").status_code == 404
    status = api.get(f"/api/async/media-processing-status/{voyage}").json()
    assert status["total"] == 1 and status["counts_by_state"] == {"completed": 1}
    _until_done(pool, beat, media_worker, [gone["media_id"]])
    assert _bucket_keys(storage, voyage) and not any(gone["media_id"] in key for key in _bucket_keys(storage, voyage))
    again = api.delete(f"/api/media/{gone['media_id']}")
    assert again.status_code == 202 and again.json()["state"] == "done"
    assert api.get(f"/api/media/{kept['media_id']}").json()["status"] == "completed"


def test_deleting_a_voyage_forgets_its_items_and_batches_and_empties_the_bucket(
        api, storage, pool, thumbnails_worker, media_worker, beat, voyage, wait_final):
    body = upload(api, voyage, *[(f"{i}.jpg", jpeg_bytes(320, 240)) for i in range(3)]).json()
    ids = [f["media_id"] for f in body["files"]]
    for media_id in ids:
        wait_final(media_id)
    before = api.get("/api/async/thumbnail-generation-stats").json()["window"]["completed"]

    answer = api.delete(f"/api/voyages/{voyage}")

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"voyage_slug": voyage, "deleted": 3, "terminated": 0, "pending": 3, "done": 0}
    assert api.get(f"/api/async/media-processing-status/{voyage}").status_code == 404
    assert api.get(f"/api/batches/{body['batch_id']}").status_code == 404
    assert api.get("/api/async/thumbnail-generation-stats").json()["window"]["completed"] == before - 3
    _until_done(pool, beat, media_worker, ids)
    assert _bucket_keys(storage, voyage) == []
    again = api.delete(f"/api/voyages/{voyage}")
    assert again.status_code == 202
    assert again.json() == {"voyage_slug": voyage, "deleted": 0, "terminated": 0, "pending": 0, "done": 3}


def test_a_deleted_waiting_item_is_skipped_by_the_worker(api, api_state, storage, pool, thumbnails_worker,
                                                         media_worker, beat, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("late.png", png_bytes()))

    assert api.delete(f"/api/media/{entry.media_id}").status_code == 202
    dispatch.send(api_state.celery, entry)  # its message arrives after all

    sign = f"task {entry.task_id} for media {entry.media_id} has nothing to do"
    wait_for(lambda: sign in thumbnails_worker.log(), 30, "the worker skips the deleted item")
    _until_done(pool, beat, media_worker, [entry.media_id])
    assert _bucket_keys(storage, voyage) == []


def test_deleting_during_a_running_render_terminates_it_and_leaves_nothing(
        api, storage, pool, thumbnails_worker, media_worker, beat, voyage, tmp_path):
    slow = hostile.pdf_slow_page(tmp_path)  # draws for minutes
    item = upload(api, voyage, (slow.name, slow.read_bytes())).json()["files"][0]
    wait_for(lambda: api.get(f"/api/media/{item['media_id']}").json()["status"] == "processing", 30,
             "the render running")

    answer = api.delete(f"/api/media/{item['media_id']}").json()

    assert answer["terminated"] is True and answer["state"] == "pending", answer
    held = _deletion(pool, item["media_id"])
    assert held.held_worker and held.held_pid, "the render running at deletion is remembered"
    _until_done(pool, beat, media_worker, [item["media_id"]])
    assert _bucket_keys(storage, voyage) == []
    assert thumbnails_worker.alive()


@pytest.fixture
def worker_ctx(settings, pool, storage) -> ThumbnailsContext:
    """What a thumbnails worker process holds, built here, to stage a render that ends late."""
    engine = Engine(RenderSpec.from_settings(settings))
    return ThumbnailsContext(settings=settings, pool=pool, storage=storage, engine=engine)


def test_a_render_finishing_after_the_delete_recreates_nothing(api, api_state, worker_ctx, pool, storage, settings,
                                                               voyage, tmp_path):
    """The render has fetched the original when the item is deleted; the deleter's first pass runs
    while it still renders; it uploads afterwards, its completion is refused, and the deleter, which
    waited for that run to end, removes what it put. (The steps of `render_and_store`, one by one.)"""
    _, [entry] = ingest_unpublished(api_state, voyage, ("late.jpg", jpeg_bytes(640, 480)))
    node = f"late-{uuid4().hex[:6]}"
    job = Job(run=Run(entry.media_id, entry.task_id, uuid4()), worker=node, pid=os.getpid())
    row = derivatives.claim(worker_ctx, job)
    source = tmp_path / "original.jpg"
    storage.download(row.original_key, source, max_bytes=settings.max_upload_bytes)
    client = redis_client(settings)
    liveness.publish(client, node, [os.getpid()], ttl=60)  # the render's worker is alive and lists it

    assert api.delete(f"/api/media/{entry.media_id}").status_code == 202
    first = remove_deleted(pool, storage, client, settings, budget_seconds=30)
    assert first.waiting >= 1 and _deletion(pool, entry.media_id).completed_at is None
    assert _bucket_keys(storage, voyage) == []

    _, result = worker_ctx.engine.render(source, tmp_path / "out", filename_hint=row.original_filename)
    stored = [derivatives._store(worker_ctx, row, derivative) for derivative in result.derivatives]
    assert len(_bucket_keys(storage, voyage)) == len(stored) > 0, "the late render's uploads landed"
    late = derivatives.Rendered(stored=stored, metadata={}, thumbhash=None, recipe_versions={}, superseded=[])
    assert derivatives.record_completed(worker_ctx, job, late) is False
    liveness.withdraw(client, node)  # its run is over
    with transaction(pool) as conn:
        conn.execute("UPDATE media_deletions SET next_attempt_at = now() WHERE media_id = %s", (entry.media_id,))
    second = remove_deleted(pool, storage, client, settings, budget_seconds=30)

    assert second.done >= 1 and _deletion(pool, entry.media_id).completed_at is not None
    assert _bucket_keys(storage, voyage) == []
    client.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_s3_down_during_a_delete_is_retried_with_backoff_until_it_recovers(
        api, api_state, pool, storage, settings, media_worker, beat, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("down.jpg", jpeg_bytes(320, 240)))
    assert _bucket_keys(storage, voyage)
    assert api.delete(f"/api/media/{entry.media_id}").status_code == 202
    down = Storage(settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{_closed_port()}"}))
    client = redis_client(settings)

    failed = remove_deleted(pool, down, client, settings, budget_seconds=30)

    deletion = _deletion(pool, entry.media_id)
    assert failed.failed >= 1 and deletion.attempts == 1 and deletion.completed_at is None
    assert deletion.last_error.startswith("storage_unavailable")
    assert deletion.next_attempt_at > deletion.requested_at, "backoff before the next try"
    assert _bucket_keys(storage, voyage), "nothing was removed while S3 was down"
    again = api.delete(f"/api/media/{entry.media_id}")
    assert again.status_code == 202 and again.json()["attempts"] == 1 and again.json()["state"] == "pending"

    _until_done(pool, beat, media_worker, [entry.media_id])  # S3 is back: the worker's next due tick
    assert _bucket_keys(storage, voyage) == []
    client.close()


def test_a_finished_deletion_is_forgotten_after_its_retention(api, api_state, pool, storage, settings, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("old.png", png_bytes()))
    assert api.delete(f"/api/media/{entry.media_id}").status_code == 202
    client = redis_client(settings)
    remove_deleted(pool, storage, client, settings, budget_seconds=30)
    assert api.delete(f"/api/media/{entry.media_id}").json()["state"] == "done"

    with transaction(pool) as conn:
        conn.execute("UPDATE media_deletions SET completed_at = now() - %s WHERE media_id = %s",
                     (timedelta(hours=settings.deletion_retention_hours + 1), entry.media_id))
    remove_deleted(pool, storage, client, settings, budget_seconds=30)

    assert _deletion(pool, entry.media_id) is None
    assert api.delete(f"/api/media/{entry.media_id}").status_code == 404
    client.close()


@pytest.fixture(scope="module")
def scoped_api(service_env, storage) -> Iterator[TestClient]:
    env = {**service_env, "SEQUOIA_API_TOKENS": "alpha-writer@alpha-voyage", "SEQUOIA_READ_TOKENS": "reader"}
    with TestClient(create_app(services.settings_from(env))) as client:
        yield client


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_voyage_limited_token_deletes_only_its_voyage(api, api_state, scoped_api):
    _, [mine] = ingest_unpublished(api_state, "alpha-voyage", ("a.png", png_bytes()))
    _, [theirs] = ingest_unpublished(api_state, f"beta-{uuid4().hex[:6]}", ("b.png", png_bytes()))

    other = scoped_api.delete(f"/api/media/{theirs.media_id}", headers=_as("alpha-writer"))
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    assert api.get(f"/api/media/{theirs.media_id}").status_code == 200
    assert scoped_api.delete(f"/api/media/{mine.media_id}", headers=_as("alpha-writer")).status_code == 202
    assert scoped_api.delete("/api/voyages/beta-x", headers=_as("alpha-writer")).status_code == 403
    assert scoped_api.delete(f"/api/media/{theirs.media_id}", headers=_as("reader")).status_code == 403
    assert scoped_api.delete("/api/voyages/alpha-voyage", headers=_as("reader")).status_code == 403
    assert scoped_api.delete(f"/api/media/{theirs.media_id}").status_code == 401
    assert scoped_api.delete("/api/voyages/alpha-voyage", headers=_as("alpha-writer")).status_code == 202


@pytest.mark.parametrize(("path", "status", "code"), [
    (f"/api/media/{uuid4()}", 404, "not_found"),
    ("/api/media/not-a-uuid", 422, "invalid_request"),
    ("/api/voyages/no-such-voyage-ever", 404, "not_found"),
    ("/api/voyages/Not_A_Slug", 422, "invalid_request"),
])
def test_bad_deletes_answer_stable_codes(api, path, status, code):
    answer = api.delete(path)

    assert answer.status_code == status and answer.json()["code"] == code


def test_the_deleter_runs_on_beat_on_the_media_queue(settings):
    from sequoia_media.worker import app

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}

    assert schedule[task_names.REMOVE_DELETED] == settings.deletion_interval_seconds == 10
    assert queue_for(task_names.REMOVE_DELETED) is QueueName.MEDIA

