"""Live work before backfill, on a real worker: a live item queued behind 200 waiting backfill items
completes before nearly all of them (by the order of completion, never by time), and each lane's
depth shows in the stats while they wait. On a database and Redis db of their own, with no worker
until everything waits."""

from __future__ import annotations

import io
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from sequoia_api.main import create_app
from sequoia_core.queues import QueueName
from tests.factories import jpeg_bytes
from tests.support import services
from tests.support.services import TEST_TOKEN

BACKLOG = 200
REDIS_DB = 10


@pytest.fixture
def quiet_stack(service_env, storage, workdir) -> Iterator[tuple[dict[str, str], TestClient]]:
    """The API on a fresh database and Redis db that no worker consumes (yet)."""
    with services.fresh_database() as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "REDIS_URL": services.redis_db_url(REDIS_DB)}
        services.purge_queues(env["REDIS_URL"])
        app = create_app(services.settings_from(env))
        try:
            with TestClient(app, headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as api:
                yield env, api
        finally:
            services.purge_queues(env["REDIS_URL"])


def _register(api: TestClient, voyage: str, key: str, names: list[str], **params: str) -> list[str]:
    answer = api.post(f"/api/voyages/{voyage}/media/register", params=params,
                      json={"items": [{"key": key, "filename": name} for name in names]})
    assert answer.status_code == 202, answer.text
    return [f["media_id"] for f in answer.json()["files"]]


def test_a_live_item_behind_200_waiting_backfill_items_completes_before_nearly_all(quiet_stack, storage, workdir):
    env, api = quiet_stack
    voyage = "prio-live-first"
    key = f"incoming/{voyage}/a.jpg"
    storage.put_stream(key, io.BytesIO(jpeg_bytes(64, 48)), "image/jpeg")
    backfill = _register(api, voyage, key, [f"old-{i}.jpg" for i in range(BACKLOG)], priority="backfill")
    [live] = _register(api, voyage, key, ["new.jpg"])

    stats = api.get("/api/async/thumbnail-generation-stats").json()
    assert stats["queue_depths"][QueueName.THUMBNAILS_BACKFILL] == BACKLOG
    assert {p: v["depth"] for p, v in stats["priorities"].items()} == {"live": 1, "backfill": BACKLOG}
    assert api.get(f"/api/media/{backfill[0]}").json()["priority"] == "backfill"

    worker = services.start_worker(env, "sequoia_thumbnails.worker", "thumbnails", "prio", workdir, concurrency=1)
    try:
        final = services.wait_until_final(lambda path: api.get(path).json(), live, 120.0, 0.2, (worker,))
    finally:
        services.stop_worker(worker)

    assert final["status"] == "completed"
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        before = conn.execute(
            "SELECT count(*) FROM media WHERE id = ANY(%s) AND completed_at < (SELECT completed_at FROM media "
            "WHERE id = %s)", (backfill, live)).fetchone()[0]
    # The design's bound: a live item waits behind at most one backfill item (docs/priorities.md).
    assert before <= 1, f"{before} of {BACKLOG} backfill items completed before the live one"
