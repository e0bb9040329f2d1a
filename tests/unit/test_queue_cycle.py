"""The live-first queue cycle kombu polls with: live lanes first, backfill every fourth turn while
both wait, round robin inside a lane."""

from __future__ import annotations

from sequoia_core.queue_cycle import LIVE_PER_BACKFILL, LiveFirstCycle
from sequoia_core.queues import Priority, QueueName, lanes_of, priority_of, queue_for
from sequoia_core.tasks import GENERATE_DERIVATIVES, RELAY_OUTBOX

LIVE, BACKFILL = QueueName.THUMBNAILS.value, QueueName.THUMBNAILS_BACKFILL.value


def _serve(cycle: LiveFirstCycle, waiting: dict[str, int], turns: int) -> str:
    """What a consumer gets: BRPOP takes from the first non-empty queue of the cycle's order."""
    served = []
    for _ in range(turns):
        queue = next(q for q in cycle.consume(len(cycle.items)) if waiting[q])
        waiting[queue] -= 1
        cycle.rotate(queue)
        served.append("L" if queue == LIVE else "B")
    return "".join(served)


def test_live_comes_first_and_backfill_gets_one_turn_in_four_while_both_wait():
    cycle = LiveFirstCycle([LIVE, BACKFILL])

    assert _serve(cycle, {LIVE: 100, BACKFILL: 100}, 12) == "LLLB" * 3
    assert LIVE_PER_BACKFILL == 3


def test_backfill_takes_every_turn_while_no_live_work_waits():
    cycle = LiveFirstCycle([LIVE, BACKFILL])

    assert _serve(cycle, {LIVE: 0, BACKFILL: 10}, 5) == "BBBBB"


def test_a_live_item_arriving_behind_a_backfill_backlog_goes_next_or_after_one():
    cycle = LiveFirstCycle([LIVE, BACKFILL])
    waiting = {LIVE: 0, BACKFILL: 200}
    _serve(cycle, waiting, 7)
    waiting[LIVE] = 1

    assert "L" in _serve(cycle, waiting, 2)


def test_queues_of_one_lane_rotate_as_kombus_round_robin():
    cycle = LiveFirstCycle(["media", "default"])
    order = []
    for _ in range(4):
        first = cycle.consume(2)[0]
        order.append(first)
        cycle.rotate(first)

    assert order == ["media", "default", "media", "default"]


def test_the_derivatives_task_has_a_live_and_a_backfill_lane():
    assert lanes_of(GENERATE_DERIVATIVES) == (QueueName.THUMBNAILS, QueueName.THUMBNAILS_BACKFILL)
    assert queue_for(GENERATE_DERIVATIVES, Priority.BACKFILL) is QueueName.THUMBNAILS_BACKFILL
    assert queue_for(RELAY_OUTBOX, Priority.BACKFILL) is QueueName.MEDIA
    assert priority_of(BACKFILL) is Priority.BACKFILL and priority_of(LIVE) is Priority.LIVE
