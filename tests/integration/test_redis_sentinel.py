"""Redis behind Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): a real master, a replica and a
redis-sentinel started at test time; Celery publishes and a real worker consumes through the
sentinels, redis-py clients write to the master, and both follow a failover to the promoted replica."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pydantic import ValidationError

from scripts.devstack.seaweed import free_port
from sequoia_core import tasks
from sequoia_core.celery_app import create_celery_app
from sequoia_core.redis_client import redis_client
from tests.support import services

MASTER = "sequoia-test"


def _start(command: list[str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, socket_timeout=1)
    deadline = time.monotonic() + 15
    while True:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.05)  # polling the server until it listens


def _server(port: int, directory: Path, *extra: str) -> list[str]:
    # Its own directory: a replica writes the RDB it receives there, which must not outlive the test.
    (directory / str(port)).mkdir()
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory / str(port)), *extra]


@pytest.fixture(scope="module")
def sentinel_setup(tmp_path_factory) -> Iterator[dict[str, int]]:
    """Ports of a master, its replica and one sentinel watching them (quorum 1)."""
    for tool in ("redis-server", "redis-sentinel"):
        assert shutil.which(tool), f"{tool} is required (apt-get install redis-server redis-sentinel)"
    ports = {"master": free_port(), "replica": free_port(), "sentinel": free_port()}
    directory = Path(tmp_path_factory.mktemp("sentinel"))
    config = directory / "sentinel.conf"
    config.write_text(f"port {ports['sentinel']}\nbind 127.0.0.1\n"
                      f"sentinel monitor {MASTER} 127.0.0.1 {ports['master']} 1\n"
                      f"sentinel down-after-milliseconds {MASTER} 2000\n"
                      f"sentinel failover-timeout {MASTER} 10000\n")
    processes = [_start(_server(ports["master"], directory), ports["master"]),
                 _start(_server(ports["replica"], directory, "--replicaof", "127.0.0.1", str(ports["master"])),
                        ports["replica"])]
    processes.append(_start(["redis-sentinel", str(config)], ports["sentinel"]))
    try:
        _wait(lambda: _replicas_seen(ports["sentinel"]) >= 1, "the sentinel to see the replica")
        yield ports
    finally:
        for process in processes:
            process.kill()
            process.wait(5)


def _replicas_seen(sentinel_port: int) -> int:
    return len(redis.Redis(port=sentinel_port).sentinel_slaves(MASTER))


def _master_port(sentinel_port: int) -> int | None:
    """The master's port as clients are told it (SENTINEL MASTERS); None while a failover runs."""
    state = redis.Redis(port=sentinel_port).sentinel_masters()[MASTER]
    return None if "failover" in state["flags"] else int(state["port"])


def _wait(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # polling Sentinel's view


def _settings(ports: dict[str, int]):
    # REDIS_URL names no reachable host: only the sentinels say where the master is.
    env = {"REDIS_URL": "redis://127.0.0.1:1/3", "REDIS_SENTINELS": f"127.0.0.1:{ports['sentinel']}",
           "REDIS_SENTINEL_MASTER": MASTER}
    return services.settings_from(env)


def test_clients_and_celery_reach_the_master_and_follow_a_failover(sentinel_setup, tmp_path):
    ports = sentinel_setup
    settings = _settings(ports)
    first = ports["master"] if _master_port(ports["sentinel"]) == ports["master"] else ports["replica"]
    second = ports["replica"] if first == ports["master"] else ports["master"]
    client, app = redis_client(settings), create_celery_app(settings)  # long-lived, as in a process

    client.lpush("probe", "before")
    app.send_task(tasks.PRUNE_OUTBOX)
    on_first, on_second = redis.Redis(port=first, db=3), redis.Redis(port=second, db=3)
    assert on_first.llen("probe") == 1, "redis-py writes to the master the sentinel names, in REDIS_URL's db"
    assert on_first.llen("media") == 1, "Celery publishes to the master the sentinel names"
    assert on_first.wait(1, 5000) == 1, "the replica has the first writes before the failover"

    redis.Redis(port=ports["sentinel"]).execute_command("SENTINEL", "FAILOVER", MASTER)
    _wait(lambda: _master_port(ports["sentinel"]) == second, "the sentinel to promote the replica")
    _wait(lambda: on_first.info("replication")["role"] == "slave", "the old master to be demoted")

    # The old connections now meet a read-only replica: both reconnect to the master the sentinel names.
    client.lpush("probe", "after")
    app.send_task(tasks.PRUNE_OUTBOX)
    assert on_second.lrange("probe", 0, -1) == [b"after", b"before"]
    assert on_second.llen("media") == 2, "Celery follows the failover to the promoted replica"


def test_a_worker_consumes_through_the_sentinels(sentinel_setup, tmp_path):
    settings = _settings(sentinel_setup)
    env = {"REDIS_URL": settings.redis_url, "REDIS_SENTINELS": ",".join(settings.redis_sentinels),
           "REDIS_SENTINEL_MASTER": MASTER}
    worker = services.start_worker(env, "sequoia_media.worker", "media", "sentinel", tmp_path)
    try:
        services.wait_for_ping(settings, worker)
        master = redis.Redis(port=_master_port(sentinel_setup["sentinel"]), db=3)
        _wait(lambda: master.llen("media") == 0, "the worker to take the queued messages")
        assert "Connected to sentinel://" in worker.log()
    finally:
        services.stop_worker(worker)


def test_sentinel_entries_must_be_host_port_and_tls_through_sentinel_is_refused():
    with pytest.raises(ValidationError, match="not host:port"):
        services.settings_from({"REDIS_SENTINELS": "sentinel-without-port"})
    with pytest.raises(ValidationError, match="not supported"):
        services.settings_from({"REDIS_URL": "rediss://redis:6379/0", "REDIS_SENTINELS": "s:26379"})
