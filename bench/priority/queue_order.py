"""What kombu's Redis transport does with a live and a backfill list both waiting.

`python -m bench.priority.queue_order [--redis URL] [--each N]` fills both lists (their real names, in
a scratch Redis database: db 13 by default, emptied of them before and after) with N messages each
(backfill first, as a backlog would be), then consumes them one at a time (prefetch 1, ack each, as a
Celery worker with `worker_prefetch_multiplier=1` and concurrency 1 does) under each queue order
strategy, and prints the order of delivery (L live, B backfill) and where the live items came out.
Counts, not time: the figures are the same on a loaded machine.
"""

from __future__ import annotations

import argparse

from kombu import Connection, Consumer, Exchange, Producer, Queue

from sequoia_core.queue_cycle import STRATEGY
from sequoia_core.queues import QueueName

LIVE, BACKFILL = QueueName.THUMBNAILS.value, QueueName.THUMBNAILS_BACKFILL.value
STRATEGIES = {"round_robin (kombu's default)": "round_robin", "priority (kombu's fixed order)": "priority",
              "LiveFirstCycle (Sequoia)": STRATEGY}


def delivery_order(url: str, strategy: str, each: int) -> str:
    """Fill both lists, then consume everything one message at a time; the lanes in delivery order."""
    queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (LIVE, BACKFILL)]
    with Connection(url, transport_options={"queue_order_strategy": strategy}) as conn:
        channel = conn.channel()
        for queue in queues:
            queue(channel).declare()
            queue(channel).purge()
        producer = Producer(channel)
        for queue in reversed(queues):  # the backfill backlog is there first
            for _ in range(each):
                producer.publish({"lane": queue.name}, exchange=queue.exchange, routing_key=queue.routing_key,
                                 serializer="json")
        order: list[str] = []

        def on_message(body: dict, message) -> None:
            order.append("B" if body["lane"] == BACKFILL else "L")
            message.ack()

        with Consumer(channel, queues, callbacks=[on_message], prefetch_count=1, accept=["json"]):
            while len(order) < 2 * each:
                conn.drain_events(timeout=5)
        for queue in queues:
            queue(channel).delete()
        return "".join(order)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--each", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"{args.each} backfill then {args.each} live messages waiting; one consumer, prefetch 1")
    print("| strategy | delivery order | live items delivered among the first half |")
    print("|---|---|---|")
    for label, strategy in STRATEGIES.items():
        order = delivery_order(args.redis, strategy, args.each)
        print(f"| {label} | `{order}` | {order[: args.each].count('L')} of {args.each} |")


if __name__ == "__main__":
    main()
