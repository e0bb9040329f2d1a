"""Real services for the integration tests and a real thumbnails worker, shared by the package's
tests and torn down when its last test ends (so a run of several suites never keeps them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from sequoia_api.main import create_app
from sequoia_core.db.pool import create_pool
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage
from tests.support import services
from tests.support.services import TEST_TOKEN, WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="package")
def workdir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("sequoia")


@pytest.fixture(scope="package")
def service_env(workdir) -> Iterator[dict[str, str]]:
    """The environment of every Sequoia process in this test session."""
    redis_url = services.redis_db_url(15)
    services.purge_queues(redis_url)
    with services.fresh_database() as database_url, services.s3_target(workdir) as s3:
        yield services.service_env(database_url, redis_url, s3)


@pytest.fixture(scope="package")
def settings(service_env) -> Settings:
    return services.settings_from(service_env)


@pytest.fixture(scope="package")
def storage(settings: Settings) -> Storage:
    store = Storage(settings)
    store.ensure_bucket()
    return store


@pytest.fixture(scope="package")
def pool(settings: Settings) -> Iterator[ConnectionPool]:
    connections = create_pool(settings)
    connections.open()
    yield connections
    connections.close()


@pytest.fixture(scope="package")
def thumbnails_worker(service_env, settings, storage, workdir) -> Iterator[WorkerProcess]:
    """One real prefork worker consuming the `thumbnails` queue."""
    with services.running_worker(service_env, "sequoia_thumbnails.worker", "thumbnails", "thumbs", workdir,
                                 settings) as worker:
        yield worker


@pytest.fixture(scope="package")
def api(settings, storage) -> Iterator[TestClient]:
    """The real app (real Postgres, Redis, S3) served in-process, with a valid token."""
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TEST_TOKEN}"}) as client:
        yield client


@pytest.fixture
def voyage(request: pytest.FixtureRequest) -> str:
    """A voyage slug of this test's own."""
    return f"t-{request.node.name.lower().replace('_', '-')[:40]}-{os.urandom(2).hex()}"


@pytest.fixture
def wait_final(api: TestClient, request: pytest.FixtureRequest) -> Callable[[UUID | str, float], dict]:
    """Poll `GET /api/media/{id}` until the item is final; return its body. Fails at once with the
    worker's log when the test's worker died."""
    workers = (request.getfixturevalue("thumbnails_worker"),) if "thumbnails_worker" in request.fixturenames else ()

    def wait(media_id: UUID | str, timeout: float = 60.0) -> dict:
        return services.wait_until_final(lambda path: api.get(path).json(), str(media_id), timeout, 0.2, workers)

    return wait


@pytest.fixture
def api_state(api):
    """The live app's resources (pool, storage, Celery, Redis)."""
    return api.app.state.sequoia


@pytest.fixture(scope="package")
def api_process(service_env, settings, storage, workdir) -> Iterator[services.ApiProcess]:
    """The API of the package's services as a real uvicorn process, with the production defaults."""
    with services.running_api(service_env, workdir) as process:
        yield process


@pytest.fixture(scope="package")
def api_server(api_process: services.ApiProcess) -> str:
    """The base URL of the real uvicorn API."""
    return api_process.url


@pytest.fixture(scope="module")
def own_api_server(service_env, workdir) -> Iterator[str]:
    """The API and a thumbnails worker on a database and Redis db of their own (S3 bucket too): for a
    test like the fuzz, whose retries and cancels would otherwise reach other tests' items."""
    with services.fresh_database() as database_url:
        env = {**service_env, "DATABASE_URL": database_url, "REDIS_URL": services.redis_db_url(11),
               "S3_BUCKET": f"{service_env['S3_BUCKET']}-own"}
        services.purge_queues(env["REDIS_URL"])
        worker = services.start_worker(env, "sequoia_thumbnails.worker", "thumbnails", "own", workdir)
        try:
            services.wait_for_ping(services.settings_from(env), worker)
            with services.running_api(env, workdir, "uvicorn-own") as api:
                yield api.url
        finally:
            services.stop_worker(worker)
            services.purge_queues(env["REDIS_URL"])
