"""Session-wide real services for the integration tests, and a real thumbnails worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from scripts.devstack.seaweed import free_port
from sequoia_api.main import create_app
from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage
from tests.support import services
from tests.support.services import TEST_TOKEN, WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("sequoia")


@pytest.fixture(scope="session")
def service_env(workdir) -> Iterator[dict[str, str]]:
    """The environment of every Sequoia process in this test session."""
    redis_url = services.redis_db_url(15)
    services.purge_queues(redis_url)
    with services.fresh_database() as database_url, services.s3_target(workdir) as s3:
        yield services.service_env(database_url, redis_url, s3)


@pytest.fixture(scope="session")
def settings(service_env) -> Settings:
    return services.settings_from(service_env)


@pytest.fixture(scope="session")
def storage(settings: Settings) -> Storage:
    store = Storage(settings)
    store.ensure_bucket()
    return store


@pytest.fixture(scope="session")
def pool(settings: Settings) -> Iterator[ConnectionPool]:
    connections = create_pool(settings)
    connections.open()
    yield connections
    connections.close()


@pytest.fixture(scope="session")
def thumbnails_worker(service_env, settings, storage, workdir) -> Iterator[WorkerProcess]:
    """One real prefork worker consuming the `thumbnails` queue."""
    worker = services.start_worker(service_env, "sequoia_thumbnails.worker", "thumbnails", "thumbs", workdir)
    try:
        services.wait_for_ping(settings, worker)
        yield worker
    finally:
        services.stop_worker(worker)


@pytest.fixture(scope="session")
def api(settings, storage) -> Iterator[TestClient]:
    """The real app (real Postgres, Redis, S3) served in-process, with a valid token."""
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as client:
        yield client


@pytest.fixture
def voyage(request: pytest.FixtureRequest) -> str:
    """A voyage slug of this test's own."""
    return f"t-{request.node.name.lower().replace('_', '-')[:40]}-{os.urandom(2).hex()}"


@pytest.fixture
def wait_final(api: TestClient) -> Callable[[UUID | str, float], dict]:
    """Poll `GET /api/media/{id}` until the item is final; return its body."""

    def wait(media_id: UUID | str, timeout: float = 60.0) -> dict:
        return services.wait_until_final(lambda path: api.get(path).json(), str(media_id), timeout, 0.2)

    return wait


@pytest.fixture
def api_state(api):
    """The live app's resources (pool, storage, Celery, Redis)."""
    return api.app.state.sequoia


@pytest.fixture(scope="session")
def api_server(service_env, settings, storage, workdir) -> Iterator[str]:
    """The API as a real uvicorn process on a free port; yields its base URL."""
    port = free_port()
    log = (workdir / "uvicorn.log").open("ab")
    command = [str(Path(sys.executable).with_name("uvicorn")), "--factory", "sequoia_api.main:create_app",
               "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=workdir, env={**os.environ, **service_env}, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError((workdir / "uvicorn.log").read_text()[-3000:])
        yield url
    finally:
        process.terminate()
        process.wait(10)
