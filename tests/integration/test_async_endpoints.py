"""The seed's /api/async endpoints against the real stack, including their error paths."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from sequoia_core import dispatch
from sequoia_core.db import media
from tests.factories import jpeg_bytes, png_bytes, truncated_jpeg
from tests.integration.helpers import ingest_unpublished, set_row, upload
from tests.support.services import TEST_TOKEN


@pytest.fixture
def finished_voyage(api, thumbnails_worker, voyage, wait_final):
    """A voyage with two completed items and one failed (corrupt) item."""
    body = upload(api, voyage, ("a.jpg", jpeg_bytes(640, 480)), ("b.png", png_bytes()),
                  ("c.jpg", truncated_jpeg())).json()
    finals = [wait_final(f["media_id"]) for f in body["files"]]
    return body, finals


def test_task_status_follows_the_item(api, finished_voyage):
    body, finals = finished_voyage

    task = api.get(f"/api/async/async-tasks/{body['files'][0]['task_id']}").json()
    failed = api.get(f"/api/async/async-tasks/{body['files'][2]['task_id']}").json()

    assert task["state"] == "succeeded" and task["current"] is True
    assert task["media_id"] == body["files"][0]["media_id"] and task["attempts"] == 1
    assert task["runtime_seconds"] > 0 and task["worker"]
    assert failed["state"] == "failed" and failed["error"]["code"] == "corrupt_file"


def test_unknown_task_is_404(api):
    response = api.get(f"/api/async/async-tasks/{uuid4()}")

    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_active_tasks_page_newest_first_with_cursor(api, api_state, voyage):
    _, entries = ingest_unpublished(api_state, voyage, *[(f"{i}.png", png_bytes(20, 20)) for i in range(5)])

    seen, cursor = [], None
    while True:
        params = {"voyage": voyage, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/async/async-tasks", params=params).json()
        seen += [item["task_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(str(e.task_id) for e in entries)
    assert len(seen) == 5
    assert api.get("/api/async/async-tasks", params={"voyage": voyage, "state": "processing"}).json()["items"] == []


def test_active_tasks_rejects_a_forged_cursor(api):
    response = api.get("/api/async/async-tasks", params={"cursor": "not-a-cursor"})

    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


def test_cancel_a_waiting_task_then_its_delivery_is_skipped(api, api_state, pool, thumbnails_worker, voyage):
    batch_id, [entry] = ingest_unpublished(api_state, voyage, ("x.png", png_bytes()))

    response = api.post(f"/api/async/async-tasks/{entry.task_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json() | {"terminated": False} == response.json()
    assert response.json()["previous_state"] == "queued"

    dispatch.send(api_state.celery, entry)  # the message arrives after all
    again = api.post(f"/api/async/async-tasks/{entry.task_id}/cancel")

    assert again.status_code == 409 and again.json()["code"] == "conflict"
    with pool.connection() as conn:
        row = media.get_media(conn, entry.media_id)
    assert row.processing_status == "cancelled" and row.attempts == 0
    assert api.get(f"/api/batches/{batch_id}").json()["batch_status"] == "cancelled"


def test_cancel_a_running_task_revokes_and_cancels(api, api_state, pool, voyage):
    _, [entry] = ingest_unpublished(api_state, voyage, ("x.png", png_bytes()))
    set_row(pool, entry.media_id, processing_status="processing")

    result = api.post(f"/api/async/async-tasks/{entry.task_id}/cancel").json()

    assert result["terminated"] is True and result["state"] == "cancelled"


def test_cancel_a_finished_task_is_409_with_its_state(api, finished_voyage):
    body, _ = finished_voyage

    response = api.post(f"/api/async/async-tasks/{body['files'][0]['task_id']}/cancel")

    assert response.status_code == 409
    assert "succeeded" in response.json()["message"]


def test_voyage_status_counts_progress_failures_and_batches(api, finished_voyage, voyage):
    body, _ = finished_voyage

    status = api.get(f"/api/async/media-processing-status/{voyage}").json()

    assert status["total"] == 3 and status["progress_percent"] == 100.0
    assert status["counts_by_state"] == {"completed": 2, "failed": 1}
    assert status["counts_by_kind"] == {"image": {"completed": 2, "failed": 1}}
    assert [f["error"]["code"] for f in status["failed_items"]] == ["corrupt_file"]
    assert [(b["id"], b["batch_status"]) for b in status["batches"]] == [(body["batch_id"], "completed_with_errors")]


def test_voyage_status_of_unknown_voyage_is_404(api):
    assert api.get("/api/async/media-processing-status/no-such-voyage").status_code == 404


def test_generation_stats_window(api, finished_voyage):
    stats = api.get("/api/async/thumbnail-generation-stats", params={"window": "1h"}).json()

    assert stats["window_seconds"] == 3600
    assert stats["window"]["completed"] >= 2 and stats["window"]["failed"] >= 1
    assert 0 < stats["window"]["failure_rate"] < 1
    assert stats["runtime_by_kind"]["image"]["p50_seconds"] > 0
    assert set(stats["queue_depths"]) == {"thumbnails", "thumbnails.backfill", "media", "default"}
    assert {p: lane["queue"] for p, lane in stats["priorities"].items()} == {
        "live": "thumbnails", "backfill": "thumbnails.backfill"}


@pytest.mark.parametrize("window", ["1y", "0h", "abc", "-1h"])
def test_generation_stats_rejects_bad_windows(api, window):
    response = api.get("/api/async/thumbnail-generation-stats", params={"window": window})

    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_generation_stats_caps_the_window_at_90_days(api):
    stats = api.get("/api/async/thumbnail-generation-stats", params={"window": "100d"}).json()

    assert stats["window_seconds"] == 90 * 86400


def test_retry_skips_permanent_errors_unless_asked(api, finished_voyage, voyage):
    dry = api.post("/api/async/retry-failed-thumbnails", json={"voyage_slug": voyage, "dry_run": True}).json()
    dry_all = api.post("/api/async/retry-failed-thumbnails",
                       json={"voyage_slug": voyage, "dry_run": True, "include_permanent": True}).json()

    assert dry == {"dry_run": True, "count": 0, "items": []}
    assert dry_all["count"] == 1 and dry_all["items"][0]["previous_error_code"] == "corrupt_file"


def test_retry_requeues_a_transient_failure_under_a_new_task(api, pool, finished_voyage, voyage, wait_final):
    body, _ = finished_voyage
    item = body["files"][0]
    set_row(pool, item["media_id"], processing_status="failed", error_code="storage_unavailable")

    result = api.post("/api/async/retry-failed-thumbnails", json={"voyage_slug": voyage}).json()

    assert result["count"] == 1
    retried = result["items"][0]
    assert retried["media_id"] == item["media_id"] and retried["previous_error_code"] == "storage_unavailable"
    assert retried["task_id"] != item["task_id"]
    assert wait_final(item["media_id"])["status"] == "completed"
    old = api.get(f"/api/async/async-tasks/{item['task_id']}").json()
    assert old["current"] is False and old["superseded_by"] == retried["task_id"]


def test_retry_rejects_an_unknown_media_kind(api):
    response = api.post("/api/async/retry-failed-thumbnails", json={"media_kind": "hologram"})

    assert response.status_code == 422


def test_worker_health_sees_the_worker(api, thumbnails_worker):
    deadline = time.monotonic() + 15  # who serves each queue is asked once per interval (5 s) and cached
    while (response := api.get("/api/async/worker-health")).json()["queues"]["thumbnails"]["workers_online"] == 0:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)

    assert response.status_code == 200, response.text
    health = response.json()
    assert health["status"] in ("healthy", "degraded")
    assert any(thumbnails_worker.name in w for w in health["queues"]["thumbnails"]["workers"])
    assert health["queues"]["thumbnails"]["workers_online"] >= 1


def test_worker_health_reports_an_unreachable_kubernetes_api_without_failing(settings, storage):
    in_cluster = settings.model_copy(update={"k8s_worker_replicas": True, "k8s_namespace": "sequoia"})
    with TestClient(create_app(in_cluster), headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as client:
        health = client.get("/api/async/worker-health").json()

    assert health["deployments"] is None
    assert any(reason.startswith("kubernetes:") for reason in health["reasons"])


def test_voyage_status_lists_at_most_failed_limit_failures(api, finished_voyage, voyage):
    status = api.get(f"/api/async/media-processing-status/{voyage}", params={"failed_limit": 0}).json()

    assert status["failed_items"] == [] and status["counts_by_state"]["failed"] == 1
