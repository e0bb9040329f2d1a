"""worker-health against real workers: `unhealthy` (503) when work waits and no worker serves its
queue, `degraded` when a served queue's oldest work waited past the limit (production default)."""

from __future__ import annotations

import time
from uuid import uuid4

import redis
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from tests.support.services import TEST_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def _health_until(client, accept, timeout: float = 15.0):
    """worker-health, asked until `accept` holds (liveness is cached for a few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/api/async/worker-health")
        if accept(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_work_waiting_with_no_worker_serving_its_queue_is_unhealthy_503(settings, storage, service_env):
    # A Redis db no worker reads, with one message waiting on the thumbnails queue.
    unserved = service_env["REDIS_URL"].rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(unserved)
    client.delete("thumbnails")
    client.lpush("thumbnails", b"{}")
    try:
        with TestClient(create_app(settings.model_copy(update={"redis_url": unserved})), headers=AUTH) as api:
            response = api.get("/api/async/worker-health")
    finally:
        client.delete("thumbnails")

    assert response.status_code == 503
    health = response.json()
    assert health["status"] == "unhealthy" and health["queues"]["thumbnails"]["workers_online"] == 0
    assert any("thumbnails: 1 waiting and no worker online" in reason for reason in health["reasons"])


def test_old_waiting_work_with_a_worker_online_is_degraded_200(api, pool, thumbnails_worker):
    media_id = uuid4()
    with pool.connection() as conn:
        conn.execute(
            """INSERT INTO media (id, voyage_slug, media_kind, media_format, original_filename, content_type,
                                  size_bytes, original_key, task_id, queue, processing_status, queued_at)
               VALUES (%s, %s, 'image', 'png', 'a.png', 'image/png', 1, 'k', %s, 'thumbnails', 'queued',
                       now() - interval '1 hour')""", (media_id, f"degraded-{media_id.hex[:8]}", uuid4()))
    try:
        response = _health_until(api, lambda r: r.json()["queues"]["thumbnails"]["workers_online"] >= 1)
    finally:
        with pool.connection() as conn:
            conn.execute("DELETE FROM media WHERE id = %s", (media_id,))

    assert response.status_code == 200, response.json()
    health = response.json()
    assert health["status"] == "degraded" and health["queues"]["thumbnails"]["workers_online"] >= 1
    assert any("limit 900s" in reason for reason in health["reasons"])
