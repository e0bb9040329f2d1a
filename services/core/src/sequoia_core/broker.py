"""Looks at the Redis broker: queue depths, the next message in line, which tasks have a message
anywhere in it, and whether it lost its data (the broker epoch). Who serves which queue is asked in
`sequoia_core.control`.

Kombu's Redis layout: a queue is a list (plus priority sub-lists); a message a consumer took and has
not acked yet is a field of the `unacked` hash (`[message, exchange, routing key]`), with the time it
was taken in the `unacked_index` sorted set. A message is JSON whose `headers.id` is the task id.

Every function that reads or writes Redis raises `BrokerUnavailable` when it does not answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, TypeVar
from uuid import UUID

from kombu.exceptions import KombuError
from redis import Redis, RedisError

from sequoia_core.errors import BrokerUnavailable
from sequoia_core.queues import QueueName

UNACKED, UNACKED_INDEX = "unacked", "unacked_index"
EPOCH_KEY = "sequoia:broker:epoch"
UNSEEN_KEY = "sequoia:recovery:unseen"

# Celery's Redis transport keeps priority levels in sub-lists named `<queue>\x06\x16<priority>`.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = range(10)


@contextmanager
def translated_errors() -> Iterator[None]:
    """The boundary where Redis and kombu failures become `BrokerUnavailable` (the cause chained)."""
    try:
        yield
    except (RedisError, KombuError, OSError) as err:
        raise BrokerUnavailable("the Redis broker is unreachable") from err


_F = TypeVar("_F", bound=Callable[..., Any])


def translates_errors(read: _F) -> _F:
    """`translated_errors` around every call of `read`."""

    @wraps(read)
    def translated(*args: Any, **kwargs: Any) -> Any:
        with translated_errors():
            return read(*args, **kwargs)

    return translated  # type: ignore[return-value]


def queue_keys(queue: str) -> list[str]:
    """Every Redis list a queue may use: the queue's own list and its priority sub-lists."""
    return [queue] + [f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS if step]


@dataclass(frozen=True)
class QueueLists:
    """A queue's lists as read in one round trip: messages waiting in all of them, and the oldest
    message of each (kombu pushes on the left and workers pop on the right, so index -1)."""

    depth: int
    oldest: list[bytes | None]


@translates_errors
def read_queues(client: Redis, with_oldest: bool = False) -> dict[str, QueueLists]:
    """Every queue's lists (priority sub-lists included) in one round trip; the oldest message of
    each list too when `with_oldest`."""
    pipe = client.pipeline(transaction=False)
    for queue in QueueName:
        for key in queue_keys(queue.value):
            pipe.llen(key)
            if with_oldest:
                pipe.lindex(key, -1)
    replies = iter(pipe.execute())
    found = {}
    for queue in QueueName:
        lengths, oldest = [], []
        for _ in queue_keys(queue.value):
            lengths.append(next(replies))
            if with_oldest:
                oldest.append(next(replies))
        found[queue.value] = QueueLists(depth=sum(lengths), oldest=oldest)
    return found


@translates_errors
def queue_depth(client: Redis, queue: str) -> int:
    """Messages waiting in one queue (all its sub-lists), in one round trip: what back-pressure reads
    before every upload, a quarter of the commands of `queue_depths`."""
    pipe = client.pipeline(transaction=False)
    for key in queue_keys(queue):
        pipe.llen(key)
    return sum(pipe.execute())


def queue_depths(client: Redis) -> dict[str, int]:
    """Messages waiting in each queue (all sub-lists counted), in one round trip."""
    return {queue: lists.depth for queue, lists in read_queues(client).items()}


def message_headers(raw: bytes | str | None, unacked: bool = False) -> dict:
    """The headers of a Celery message as kombu stores it in a queue list, or in the `unacked` hash
    (`unacked=True`); empty for anything else."""
    if not raw:
        return {}
    try:
        message = json.loads(raw)
        headers = (message[0] if unacked else message).get("headers")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return {}
    return headers if isinstance(headers, dict) else {}


def task_id_of(raw: bytes | str | None, unacked: bool = False) -> UUID | None:
    """The task id of a stored Celery message; None for anything else."""
    try:
        return UUID(str(message_headers(raw, unacked)["id"]))
    except (ValueError, KeyError):  # not a Celery task message: nothing to tell
        return None


@translates_errors
def next_in_line(client: Redis, queue: str) -> UUID | None:
    """The task id of the oldest message waiting on `queue`, if any.

    Kombu pushes to the head of the queue's list and workers pop from its tail, so the tail is next.
    """
    raw = client.lindex(queue, -1)
    return None if raw is None else task_id_of(raw)


@translates_errors
def heads(client: Redis, queues: tuple[str, ...]) -> dict[str, UUID]:
    """The task id of the message next in line on each of `queues` that has one, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.lindex(queue, -1)
    found = {queue: task_id_of(raw) for queue, raw in zip(queues, pipe.execute(), strict=True) if raw is not None}
    return {queue: head for queue, head in found.items() if head}


@translates_errors
def task_ids_taken(client: Redis) -> set[UUID]:
    """Every task id whose message a consumer took and has not acked (any queue)."""
    found = {task_id_of(raw, unacked=True) for raw in client.hvals(UNACKED)}
    found.discard(None)
    return found  # type: ignore[return-value]


@translates_errors
def task_ids_on_broker(client: Redis, queues: tuple[str, ...]) -> set[UUID]:
    """Every task id with a message on one of `queues` (all their sub-lists) or taken by a consumer
    and not acked (any queue). Reads whole lists: for the rare moments the broker may have lost messages."""
    pipe = client.pipeline(transaction=False)
    for key in (key for queue in queues for key in queue_keys(queue)):
        pipe.lrange(key, 0, -1)
    pipe.hvals(UNACKED)
    *lists, unacked = pipe.execute()
    found = {task_id_of(raw) for messages in lists for raw in messages}
    found |= {task_id_of(raw, unacked=True) for raw in unacked}
    found.discard(None)
    return found  # type: ignore[return-value]


@translates_errors
def reserved_before(client: Redis, seconds_ago: float) -> set[UUID]:
    """Task ids whose message a consumer took more than `seconds_ago` and has not acked."""
    tags = client.zrangebyscore(UNACKED_INDEX, "-inf", time.time() - seconds_ago)
    if not tags:
        return set()
    found = {task_id_of(raw, unacked=True) for raw in client.hmget(UNACKED, tags) if raw is not None}
    found.discard(None)
    return found  # type: ignore[return-value]


@dataclass(frozen=True)
class Epoch:
    """Which Redis server holds the queues now (`run_id`, new at every start and failover), whether
    it is the one the sweeper saw last time, and for how long the sweeper has known it."""

    run_id: str
    changed: bool
    known_for: float


@translates_errors
def read_epoch(client: Redis) -> Epoch:
    """Compare the server's run id with the one recorded in Redis itself: a restart without
    persistence or a flush loses the record, a restart or failover changes the run id."""
    pipe = client.pipeline(transaction=False)  # one round trip: it runs with every sweep
    pipe.info("server").time().get(EPOCH_KEY)
    info, (seconds, micros), raw = pipe.execute()
    run_id, now = str(info["run_id"]), seconds + micros / 1e6
    recorded = json.loads(raw) if raw else {}
    if recorded.get("run_id") != run_id:
        return Epoch(run_id=run_id, changed=True, known_for=0.0)
    return Epoch(run_id=run_id, changed=False, known_for=now - float(recorded["since"]))


@translates_errors
def record_epoch(client: Redis, epoch: Epoch) -> None:
    """Remember this server once what it lost has been published again."""
    client.set(EPOCH_KEY, json.dumps({"run_id": epoch.run_id, "since": _server_time(client)}))


@translates_errors
def swap_unseen(client: Redis, task_ids: set[UUID], ttl_seconds: float) -> set[UUID]:
    """Record the task ids a recovery pass found nowhere on the broker, and return those the previous
    pass recorded (if within `ttl_seconds`)."""
    previous = client.set(UNSEEN_KEY, json.dumps(sorted(map(str, task_ids))), ex=max(1, round(ttl_seconds)), get=True)
    return {UUID(task_id) for task_id in json.loads(previous)} if previous else set()


def _server_time(client: Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6
