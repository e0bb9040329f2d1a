"""The system bench's account of pool slot time: every slot-second is busy or idle for one cause."""

from __future__ import annotations

import pytest

from bench.system.slots import Run, slot_time


def test_each_idle_second_has_one_cause():
    runs = [
        Run(pid=1, queued=0.5, started=1.0, completed=3.0),
        Run(pid=1, queued=0.5, started=3.5, completed=5.0),  # waited on the queue: handover 0.5
        Run(pid=2, queued=1.0, started=2.0, completed=4.0),
        Run(pid=2, queued=6.0, started=6.5, completed=9.0),  # queued after the slot freed: starved 2, handover 0.5
    ]

    slots = slot_time(runs, 2, first_sent=0.0, last_final=10.0)

    assert (slots.head, slots.starved, slots.handover, slots.tail) == pytest.approx((3.0, 2.0, 1.0, 6.0))
    assert slots.busy == pytest.approx(8.0)
    assert slots.busy + slots.head + slots.starved + slots.handover + slots.tail == pytest.approx(slots.capacity)
    assert slots.handover_p50 == pytest.approx(1.5)  # median gap between tasks: 0.5 and 2.5


def test_a_slot_that_ran_nothing_was_idle_throughout():
    slots = slot_time([Run(pid=1, queued=0.0, started=0.0, completed=4.0)], 2, first_sent=0.0, last_final=4.0)

    assert slots.share(slots.busy) == pytest.approx(0.5)
    assert slots.share(slots.head) == pytest.approx(0.5)
