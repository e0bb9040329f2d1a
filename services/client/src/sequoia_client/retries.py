"""When and how long the client waits before trying a call again.

Retried: connection errors and timeouts, 429 and 503 (honouring `Retry-After`, seconds or an HTTP
date), and 409 `idempotency_key_in_flight` (the first try of the same call is still running). Every
write carries an Idempotency-Key kept across its retries, so a retry never runs it twice. Waits grow
exponentially with full jitter, capped at `max_delay`.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRIED_STATUSES = frozenset({429, 503})
IN_FLIGHT = "idempotency_key_in_flight"


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries a call gets, and the backoff between them."""

    max_attempts: int = 5
    backoff: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try `attempt + 1` (`attempt` counts from 1): the server's `Retry-After`
        when it sent one, else a random wait up to `backoff * 2**(attempt-1)`; never past `max_delay`."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return random.uniform(0, min(self.max_delay, self.backoff * 2 ** (attempt - 1)))


NO_RETRIES = RetryPolicy(max_attempts=1)


def retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` of an answer in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def should_retry(response: httpx.Response) -> bool:
    """Whether an answer is worth another try of the same call."""
    if response.status_code in RETRIED_STATUSES:
        return True
    if response.status_code == 409:
        try:
            return response.json().get("code") == IN_FLIGHT
        except ValueError:
            return False
    return False
