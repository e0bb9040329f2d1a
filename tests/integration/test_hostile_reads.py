"""Reads can never hang the writes: many concurrent broadcasts to the workers (worker-health) leave
ingest answering, and the liveness probe says when the process could no longer publish."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.factories import png_bytes
from tests.support.services import TEST_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


def test_thirty_concurrent_worker_health_calls_never_hang_ingest(api_server, thumbnails_worker, voyage):
    def health(_: int) -> int:
        return httpx.get(f"{api_server}/api/async/worker-health", headers=AUTH, timeout=30).status_code

    with ThreadPoolExecutor(30) as pool:
        calls = [pool.submit(health, n) for n in range(30)]
        ingest = httpx.post(f"{api_server}/api/voyages/{voyage}/media", headers=AUTH, timeout=30,
                            files=[("files", ("a.png", png_bytes()))])  # while the broadcasts are in flight
        answers = [call.result() for call in calls]

    assert set(answers) == {200}  # a worker is online: every call gets its answer, none is refused
    assert ingest.status_code == 202
    assert httpx.get(f"{api_server}/healthz", timeout=5).status_code == 200


def test_the_liveness_probe_fails_while_no_broker_connection_is_free(api, api_state):
    pool = api_state.celery.pool
    held = [pool.acquire(block=True, timeout=1) for _ in range(pool.limit)]
    try:
        stuck = api.get("/healthz")
    finally:
        for connection in held:
            connection.release()

    assert stuck.status_code == 503 and stuck.json() == {"status": "cannot_publish"}
    assert api.get("/healthz").status_code == 200
