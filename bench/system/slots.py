"""Where a pool slot's time goes while a batch drains: which task held it, and why it sat idle.

Each item's row says which pool process ran it (`worker_pid`), when its claim began (`started_at`),
when its completion began (`completed_at`) and when the API had put it on the queue (its outbox entry's `published_at`).
A slot's idle time is then one of:

- *head*: from the first upload request sent to the slot's first task (the first request's files
  are read, stored and committed before anything is queued);
- *starved*: between two tasks, while the queue held nothing for it yet (the upload side was behind);
- *handover*: between two tasks while work waited on the queue: the end of one task (its
  completion's commit, Celery's trace, the ack) and the start of the next (BRPOP, the hand-off to the
  pool process, the claim's transaction);
- *tail*: from the slot's last task to the batch's last final item.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """One item's run in a pool process, epoch seconds."""

    pid: int
    queued: float
    started: float
    completed: float


@dataclass(frozen=True)
class SlotTime:
    """Slot-seconds of a drain by what filled them, and the median handover in seconds."""

    capacity: float
    busy: float
    head: float
    starved: float
    handover: float
    tail: float
    handover_p50: float

    def share(self, part: float) -> float:
        return part / self.capacity if self.capacity else 0.0


def _idle_between(done: float, nxt: Run, runs: list[Run]) -> tuple[float, float]:
    """The gap from `done` to `nxt`'s start, split into (starved, handover): starved until the first
    item queued at or after `done` if nothing queued before it was still waiting for a slot."""
    waiting = any(r.queued <= done < r.started for r in runs)
    if waiting:
        return 0.0, nxt.started - done
    arrived = min((r.queued for r in runs if r.queued > done), default=nxt.started)
    starved = max(0.0, min(arrived, nxt.started) - done)
    return starved, nxt.started - done - starved


def slot_time(runs: list[Run], slots: int, first_sent: float, last_final: float) -> SlotTime:
    """Account for `slots` × the drain (`first_sent` to `last_final`) over the pool processes that ran `runs`."""
    by_pid: dict[int, list[Run]] = defaultdict(list)
    for run in runs:
        by_pid[run.pid].append(run)
    head = starved = handover = tail = 0.0
    handovers = []
    for own in by_pid.values():
        own.sort(key=lambda r: r.started)
        head += own[0].started - first_sent
        tail += last_final - own[-1].completed
        for prev, nxt in zip(own, own[1:]):
            lost, gap = _idle_between(prev.completed, nxt, runs)
            starved += lost
            handover += gap
            handovers.append(nxt.started - prev.completed)
    # A slot that ran nothing was idle for the whole drain: count it as head.
    head += max(0, slots - len(by_pid)) * (last_final - first_sent)
    return SlotTime(capacity=slots * (last_final - first_sent), busy=sum(r.completed - r.started for r in runs),
                    head=head, starved=starved, handover=handover, tail=tail,
                    handover_p50=statistics.median(handovers) if handovers else 0.0)
