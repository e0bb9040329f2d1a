"""TLS Redis (`rediss://`) for every Redis client: a real redis-server with `--tls-port` and a CA made
with openssl at test time; a real Celery worker publishes and consumes over it, the queue collector,
Flower's broker view and the API read it, and a certificate from another CA is refused."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import redis
from flower.utils.broker import Broker

from scripts.devstack.seaweed import free_port
from sequoia_api.state import ApiState
from sequoia_core import tasks
from sequoia_core.celery_app import create_celery_app
from sequoia_core.control import WorkerControl
from sequoia_core.db.pool import create_pool
from sequoia_core.redis_client import redis_client
from sequoia_media.queue_metrics import QueueCollector
from tests.support import services

PASSWORD = "tls-test-password"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt",
             "-days", "1", "-subj", f"/CN={name}", cwd=directory)


def _make_certificates(directory: Path) -> None:
    """A CA, a server certificate it signed for 127.0.0.1, and an unrelated CA."""
    _make_ca(directory, "ca")
    _make_ca(directory, "other-ca")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "1", "-extfile", "san.ext", cwd=directory)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """(rediss:// URL of db 1, the CA that signed the server, an unrelated CA) of a private TLS Redis."""
    for tool in ("openssl", "redis-server"):
        assert shutil.which(tool), f"{tool} is required (apt-get install openssl redis-server)"
    directory = tmp_path_factory.mktemp("redis-tls")
    _make_certificates(directory)
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", "server.crt", "--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.crt",
         "--tls-auth-clients", "no", "--requirepass", PASSWORD, "--save", "", "--appendonly", "no"],
        cwd=directory, stdout=(directory / "redis.log").open("ab"), stderr=subprocess.STDOUT)
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/1"
    client = redis.Redis.from_url(url, ssl_ca_certs=str(directory / "ca.crt"), socket_connect_timeout=1)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert server.poll() is None and time.monotonic() < deadline, (directory / "redis.log").read_text()
            time.sleep(0.1)
    client.close()
    yield url, directory / "ca.crt", directory / "other-ca.crt"
    server.terminate()
    server.wait(10)


@pytest.fixture(scope="module")
def tls_env(service_env, tls_redis) -> dict[str, str]:
    url, ca, _ = tls_redis
    return {**service_env, "REDIS_URL": url, "REDIS_TLS_CA_FILE": str(ca)}


@pytest.fixture(scope="module")
def tls_settings(tls_env):
    return services.settings_from(tls_env)


def test_a_worker_consumes_a_task_published_over_tls(tls_env, tls_settings, workdir):
    app = create_celery_app(tls_settings)
    worker = services.start_worker(tls_env, "sequoia_thumbnails.worker", "thumbnails", "tls", workdir)
    client = redis_client(tls_settings)
    try:
        services.wait_for_ping(tls_settings, worker)  # a broadcast and its reply, both over TLS
        media_id = str(uuid4())
        app.send_task(tasks.GENERATE_DERIVATIVES, args=[media_id])
        deadline = time.monotonic() + 60
        while f"for media {media_id} has nothing to do" not in worker.log():
            assert worker.alive() and time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.2)
        assert client.llen("thumbnails") == 0
    finally:
        services.stop_worker(worker)
        client.close()
        app.close()


def test_the_queue_collector_and_flower_read_the_queues_over_tls(tls_settings):
    app = create_celery_app(tls_settings)
    control = WorkerControl(tls_settings.model_copy(update={"metrics_inspect_timeout_seconds": 0.5}), "tls-test")
    client = redis_client(tls_settings)
    pool = create_pool(tls_settings, min_size=1)
    pool.open()
    client.delete("media")
    try:
        for _ in range(3):
            app.send_task(tasks.PRUNE_OUTBOX)
        families = {f.name: f for f in QueueCollector(client, pool, control).collect()}
        depth = {s.labels["queue"]: s.value for s in families["sequoia_queue_depth"].samples}
        up = {s.labels["source"]: s.value for s in families["sequoia_queue_metrics_source_up"].samples}
        flower = Broker(app.connection().as_uri(include_password=True), broker_use_ssl=app.conf.broker_use_ssl)
        flower_view = asyncio.run(flower.queues(["media"]))
    finally:
        client.delete("media")
        client.close()
        pool.close()
        app.close()
        control.close()

    assert depth["media"] == 3 and up["redis"] == 1
    assert flower_view == [{"name": "media", "messages": 3}]


def test_the_api_reaches_redis_over_tls(tls_settings):
    state = ApiState.build(tls_settings)
    try:
        assert state.redis.ping()
        with state.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    finally:
        state.redis.close()
        state.celery.close()


def test_a_server_certificate_from_another_ca_is_refused(tls_redis, tls_settings):
    _, _, other_ca = tls_redis
    client = redis_client(tls_settings.model_copy(update={"redis_tls_ca_file": other_ca}))

    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        client.ping()
