"""Which workers are alive, cluster-wide: each worker's main process refreshes a Redis key with a
short TTL (`sequoia:alive:<node name>`) holding the pids of its pool processes.

A key rather than Celery's worker heartbeat events: events are fire-and-forget on a fanout (lost while
nobody listens, and a restarted listener knows no one), whereas a key is read in one MGET by whoever
asks, and it names the pool processes, so a run whose pool process died (an OOM kill of one child)
is told apart from the runs of its live siblings. The pod probe's file (`worker_heartbeat.py`) is apart.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from celery.signals import worker_ready, worker_shutdown
from redis import Redis, RedisError

from sequoia_core.broker import translates_errors
from sequoia_core.redis_client import redis_client
from sequoia_core.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "sequoia:alive:"


@dataclass(frozen=True)
class Heartbeat:
    """The last word of a worker: its pool's pids and when it said so (its own clock, epoch seconds)."""

    pids: frozenset[int]
    at: float

    def holds(self, pid: int | None, claimed_at: float, skew: float) -> bool:
        """Whether the pool process `pid` may still hold a run claimed at `claimed_at`: it is listed, or
        the list is not clearly newer than the claim (a pool process started since may be missing)."""
        if pid is None or not self.pids or pid in self.pids:
            return True
        return self.at <= claimed_at + skew


def publish(client: Redis, node: str, pids: list[int], ttl: float) -> None:
    """Say that `node` and these pool processes are alive, for `ttl` seconds."""
    value = json.dumps({"pids": sorted(pids), "at": time.time()})
    client.set(KEY_PREFIX + node, value, px=int(ttl * 1000))


def withdraw(client: Redis, node: str) -> None:
    """A worker that shut down cleanly holds nothing: say so at once."""
    client.delete(KEY_PREFIX + node)


@translates_errors
def read(client: Redis, nodes: list[str]) -> dict[str, Heartbeat | None]:
    """The heartbeat of each node, or None for a node whose key expired (it is gone)."""
    if not nodes:
        return {}
    values = client.mget([KEY_PREFIX + node for node in nodes])
    return {node: _parse(raw) for node, raw in zip(nodes, values, strict=True)}


def _parse(raw: bytes | None) -> Heartbeat | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return Heartbeat(pids=frozenset(int(pid) for pid in data.get("pids", [])), at=float(data["at"]))


class LivenessPublisher:
    """A daemon thread of the worker's main process that refreshes its key; its methods are the Celery
    signal receivers. The thread only talks to Redis: a busy event loop cannot delay it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_worker_ready(self, sender: Any = None, **_: Any) -> None:
        """Start beating once the consumer (and its pool) runs."""
        if sender is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(sender,), name="sequoia-liveness", daemon=True)
        self._thread.start()

    def on_worker_shutdown(self, sender: Any = None, **_: Any) -> None:
        """Stop beating and withdraw the key: a warm shutdown finished every run it held."""
        self._stop.set()
        if self._thread is None or sender is None:
            return
        self._thread.join(5)
        try:
            withdraw(self._client(), sender.hostname)
        except RedisError as err:
            log.warning("heartbeat: could not withdraw %s: %s", sender.hostname, err)

    def _client(self) -> Redis:
        return redis_client(self._settings)

    def _run(self, consumer: Any) -> None:
        client, interval = self._client(), self._settings.worker_liveness_seconds
        while not self._stop.is_set():
            try:
                publish(client, consumer.hostname, _pool_pids(consumer), self._settings.worker_lost_after_seconds)
            except RedisError as err:  # Redis away: the sweeper does not judge while it is
                log.warning("heartbeat of %s not published: %s", consumer.hostname, err)
            self._stop.wait(interval)


def _pool_pids(consumer: Any) -> list[int]:
    """The pids of the pool's processes (prefork); none for pools without processes."""
    try:
        return [int(pid) for pid in consumer.pool.info.get("processes", [])]
    except (AttributeError, TypeError):  # pool not started yet, or one without processes
        return []


def install_liveness(settings: Settings) -> LivenessPublisher:
    """Wire the heartbeat into this worker; called once by the worker's entry module."""
    publisher = LivenessPublisher(settings)
    worker_ready.connect(publisher.on_worker_ready, weak=False, dispatch_uid="sequoia-liveness-start")
    worker_shutdown.connect(publisher.on_worker_shutdown, weak=False, dispatch_uid="sequoia-liveness-stop")
    return publisher
