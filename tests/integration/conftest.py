"""Session-wide real services for the integration tests, and a real thumbnails worker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from redis.connection import parse_url

from sequoia_api.main import create_app
from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage
from tests.support import services
from tests.support.services import TEST_TOKEN, WorkerProcess

pytestmark = pytest.mark.integration


def _test_redis_url() -> str:
    # The tests use db 15 of REDIS_URL's server, so a running local stack (db 0) never sees their tasks.
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    parts = parse_url(base)
    auth = f":{parts['password']}@" if parts.get("password") else ""
    return f"redis://{auth}{parts.get('host', '127.0.0.1')}:{parts.get('port', 6379)}/15"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("sequoia")


@pytest.fixture(scope="session")
def service_env(workdir) -> Iterator[dict[str, str]]:
    """The environment of every Sequoia process in this test session."""
    redis_url = _test_redis_url()
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
def api_process(service_env, settings, storage, workdir) -> Iterator[services.ApiProcess]:
    """The API as a real uvicorn process on a free port, with the production defaults."""
    with services.running_api(service_env, workdir) as process:
        yield process


@pytest.fixture(scope="session")
def api_server(api_process: services.ApiProcess) -> str:
    """The base URL of the real uvicorn API."""
    return api_process.url
