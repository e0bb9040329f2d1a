"""The order in which a worker's Redis channel polls its queues: live lanes first, with a backfill
lane put first once every `LIVE_PER_BACKFILL` deliveries, so backfill never starves.

Kombu's Redis transport asks its queue cycle for the list of keys of each BRPOP and BRPOP returns
from the first non-empty one; after each delivery it tells the cycle which queue delivered
(`rotate`). Its own cycles are a round robin (an equal share: a live item waits behind as many
backfill items as live ones) and a fixed order (a busy first queue starves the rest), measured in
`bench/queue_order.py`. This one is named in the `queue_order_strategy` transport option.
"""

from __future__ import annotations

from collections.abc import Iterable

from sequoia_core.queues import BACKFILL_QUEUES

# While both lanes have work, a worker takes this many live items for every backfill one.
LIVE_PER_BACKFILL = 3


class LiveFirstCycle:
    """Kombu's cycle protocol (`update`, `consume`, `rotate`): queues of one lane in round robin, the
    live lane before the backfill lane except on every `LIVE_PER_BACKFILL + 1`-th turn."""

    def __init__(self, items: Iterable[str] | None = None) -> None:
        self.items: list[str] = list(items or [])
        self.live_in_a_row = 0

    def update(self, items: Iterable[str]) -> None:
        """The channel's active queues changed."""
        self.items[:] = items

    def consume(self, n: int) -> list[str]:
        """The first `n` queues in polling order."""
        live = [q for q in self.items if q not in BACKFILL_QUEUES]
        backfill = [q for q in self.items if q in BACKFILL_QUEUES]
        backfill_turn = self.live_in_a_row >= LIVE_PER_BACKFILL
        return (backfill + live if backfill_turn else live + backfill)[:n]

    def rotate(self, last_used: str) -> str:
        """A delivery came from `last_used`: move it behind its lane's other queues and count the turn.
        A live delivery on backfill's turn means backfill was empty: the turn waits for its next item."""
        self.live_in_a_row = 0 if last_used in BACKFILL_QUEUES else self.live_in_a_row + 1
        if last_used in self.items:
            self.items.append(self.items.pop(self.items.index(last_used)))
        return last_used


STRATEGY = f"{__name__}:{LiveFirstCycle.__name__}"
