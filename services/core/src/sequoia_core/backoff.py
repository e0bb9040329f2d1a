"""How long a task waits before retrying a transient error."""

from __future__ import annotations

import random

from celery.utils.time import get_exponential_backoff_interval


def retry_countdown(retries: int, base: float, cap: float) -> float:
    """Seconds before retry number `retries + 1`: exponential steps (`base`·2ⁿ up to `cap`) with
    "equal jitter", a random point in the upper half of the step.

    Celery's own `retry_jitter` picks anywhere in [0, step], so a burst of failures can spend every
    retry within a second of a short outage; the half-step floor makes n retries cover at least
    base·(2ⁿ − 1)/2 seconds, while the random half still spreads a crowd of failed tasks apart.
    """
    step = get_exponential_backoff_interval(factor=base, retries=retries, maximum=cap, full_jitter=False)
    return step / 2 + random.uniform(0, step / 2)
