"""The sandbox with the real services: a cancelled render in a real worker leaves no process, no
scratch file and no derivative behind; a run refused its completion removes what it uploaded; a
renderer started among the real settings finds no secret and reaches no service."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest

from sequoia_core.db.media import Run, get_media
from sequoia_core.db.pool import transaction
from sequoia_thumbnails import derivatives, workdirs
from sequoia_thumbnails.context import ThumbnailsContext
from sequoia_thumbnails.derivatives import Job
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers.base import RenderSpec
from sequoia_thumbnails.sandbox import RenderServer
from tests.corpus import hostile
from tests.factories import jpeg_bytes
from tests.integration.helpers import ingest_unpublished, keys_under, upload
from tests.support.processes import descendants, gone, processes, wait_for


def _render_in_progress(worker_pid: int) -> tuple[int, list[int], list[Path]] | None:
    """(the pool process, its render server and jobs, its scratch folders) once a job runs."""
    tree = descendants(worker_pid)
    servers = [pid for pid, cmdline in tree.items() if "sequoia_thumbnails.render_server" in cmdline]
    if not servers:
        return None
    jobs = list(descendants(servers[0]))
    pool_process = processes()[servers[0]][0]
    folders = [path for path in workdirs.root().glob(f"{pool_process}-*") if any(path.glob("original.*"))]
    if not jobs or not folders:
        return None
    return pool_process, [servers[0], *jobs], folders


def test_cancel_a_running_render_leaves_nothing_behind(api, thumbnails_worker, storage, voyage, wait_final,
                                                       tmp_path):
    slow = hostile.pdf_slow_page(tmp_path)  # draws for minutes
    item = upload(api, voyage, (slow.name, slow.read_bytes())).json()["files"][0]
    pool_process, render_pids, folders = wait_for(lambda: _render_in_progress(thumbnails_worker.process.pid), 30,
                                                   "a render job running")

    answer = api.post(f"/api/async/async-tasks/{item['task_id']}/cancel").json()

    assert answer["terminated"] is True, answer
    assert all(gone(pid, within=15) for pid in [pool_process, *render_pids])
    assert not any(folder.exists() for folder in folders)
    assert wait_final(item["media_id"], 10)["status"] == "cancelled"
    assert keys_under(storage, f"derivatives/{voyage}/{item['media_id']}/") == []
    assert thumbnails_worker.alive()
    after = upload(api, voyage, ("after.jpg", jpeg_bytes(800, 600))).json()["files"][0]
    assert wait_final(after["media_id"], 60)["status"] == "completed"


def _job(entry) -> Job:
    """A delivery of the entry's task, run by this process."""
    return Job(run=Run(entry.media_id, entry.task_id, uuid4()), worker="test", pid=os.getpid())


@pytest.fixture
def worker_ctx(settings, pool, storage) -> ThumbnailsContext:
    """What a worker process holds, built here: the same pool, storage and engine."""
    engine = Engine(RenderSpec.from_settings(settings))
    return ThumbnailsContext(settings=settings, pool=pool, storage=storage, engine=engine)


def test_a_render_refused_its_completion_removes_its_derivatives(api, api_state, worker_ctx, pool, storage, voyage):
    """The cancel commits while the render uploads: the completion is refused and the uploads go."""
    _, entries = ingest_unpublished(api_state, voyage, ("late.jpg", jpeg_bytes(640, 480)))
    job = _job(entries[0])
    row = derivatives.claim(worker_ctx, job)
    rendered = derivatives.render_and_store(worker_ctx, row)
    prefix = f"derivatives/{voyage}/{job.media_id}/"
    assert len(keys_under(storage, prefix)) == 2

    assert api.post(f"/api/async/async-tasks/{job.run.task_id}/cancel").json()["state"] == "cancelled"
    recorded = derivatives.record_completed(worker_ctx, job, rendered)

    assert recorded is False
    assert keys_under(storage, prefix) == []
    with transaction(pool) as conn:
        assert get_media(conn, job.media_id).processing_status == "cancelled"


def test_a_refused_run_leaves_the_keys_of_the_run_that_took_over(api_state, worker_ctx, pool, storage, voyage):
    """Another task owns the item now: the same keys are its own, and stay."""
    _, entries = ingest_unpublished(api_state, voyage, ("twice.jpg", jpeg_bytes(640, 480)))
    job = _job(entries[0])
    row = derivatives.claim(worker_ctx, job)
    rendered = derivatives.render_and_store(worker_ctx, row)
    with transaction(pool) as conn:
        conn.execute("UPDATE media SET task_id = %s, processing_status = 'processing' WHERE id = %s",
                     (UUID(int=1), job.media_id))

    assert derivatives.record_completed(worker_ctx, job, rendered) is False
    assert len(keys_under(storage, f"derivatives/{voyage}/{job.media_id}/")) == 2


def test_a_refused_run_leaves_the_keys_of_another_run_of_the_same_task(api_state, worker_ctx, pool, storage,
                                                                      voyage):
    """A redelivery of the same task took the item over (its first run was taken for dead)."""
    _, entries = ingest_unpublished(api_state, voyage, ("again.jpg", jpeg_bytes(640, 480)))
    job = _job(entries[0])
    row = derivatives.claim(worker_ctx, job)
    rendered = derivatives.render_and_store(worker_ctx, row)
    with transaction(pool) as conn:
        conn.execute("UPDATE media SET run_token = %s WHERE id = %s", (uuid4(), job.media_id))

    assert derivatives.record_completed(worker_ctx, job, rendered) is False
    assert len(keys_under(storage, f"derivatives/{voyage}/{job.media_id}/")) == 2


@pytest.mark.parametrize("holder", ["dead", "alive"])
def test_a_redelivery_takes_over_only_the_run_of_a_dead_pool_process_of_its_worker(api_state, worker_ctx, voyage,
                                                                                  holder):
    """The claim's statements commit one by one: the first claim finds the item held, the run's pool
    process is looked up, and only a dead one's run is taken, by the guarded second claim."""
    _, entries = ingest_unpublished(api_state, voyage, ("orphan.jpg", jpeg_bytes(64, 48)))
    gone_process = subprocess.Popen(["true"])
    gone_process.wait()
    pid = gone_process.pid if holder == "dead" else os.getppid()
    first = _job(entries[0])
    assert derivatives.claim(worker_ctx, Job(first.run, first.worker, pid)) is not None

    redelivery = _job(entries[0])
    taken = derivatives.claim(worker_ctx, redelivery)

    if holder == "dead":
        assert (taken.run_token, taken.worker_pid, taken.attempts) == (redelivery.run.token, os.getpid(), 2)
    else:
        assert taken is None


def test_a_renderer_in_the_workers_environment_finds_no_secret_and_no_network(service_env, monkeypatch):
    """Started from a process holding the real services' settings, a job reads its environment and
    tries Postgres, Redis and S3 (the very endpoints this test session runs): nothing."""
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    endpoints = {name: urlsplit(service_env[name]) for name in ("DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL")}
    server = RenderServer()
    try:
        seen = server.run("tests.unit.sandbox_targets:environment", {}, timeout=30)
        answers = {name: server.run("tests.unit.sandbox_targets:connect",
                                    {"host": url.hostname, "port": url.port or 5432}, timeout=30)
                   for name, url in endpoints.items()}
    finally:
        server.stop()

    assert not set(seen) & set(service_env), seen
    assert not any(value in json.dumps(seen) for value in (service_env["AWS_SECRET_ACCESS_KEY"],
                                                           service_env["DATABASE_URL"]))
    assert all(answer.startswith("refused: [Errno 13]") for answer in answers.values()), answers
