"""Idempotent writes: the same Idempotency-Key with the same call answers what its first run
answered, without running again (docs/idempotency.md).

A call is its principal (a hash of its token: keys of two tokens never meet), its key, its route
(method, path, query) and a hash of its request. Its key is claimed before it runs and completed with
its answer after; a call that fails releases the claim, so nothing half-done answers a retry. While
the first run is still going, a duplicate is refused at once (`idempotency_key_in_flight`): the
client retries after a moment, and no API thread or connection waits for another request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sequoia_api.state import ApiState
from sequoia_core.db import idempotency as keys
from sequoia_core.db.pool import transaction
from sequoia_core.errors import Conflict, ErrorCode


class KeyReused(Conflict):
    """The key was first used for another call (another route, query or body)."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class KeyInFlight(Conflict):
    """The first call with this key is still running."""

    code = ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT


@dataclass(frozen=True)
class IdempotentCall:
    """What makes two requests the same call."""

    principal: str
    key: str
    route: str
    request_hash: str


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as it is stored and replayed."""

    status_code: int
    content_type: str | None
    body: bytes


def principal_of(token: str) -> str:
    """Who calls, as stored: the SHA-256 of the bearer token (the token never reaches Postgres)."""
    return hashlib.sha256(token.encode()).hexdigest()


def begin(state: ApiState, call: IdempotentCall) -> Answer | None:
    """Claim the key (None: run the call), or the first run's answer to replay; `KeyReused` or
    `KeyInFlight` otherwise."""
    lease = timedelta(seconds=state.settings.idempotency_lease_seconds)
    with transaction(state.pool) as conn:
        if keys.claim(conn, call.principal, call.key, call.route, call.request_hash, lease) is not None:
            return None
        row = keys.get(conn, call.principal, call.key)
    if row is None:  # the first run failed and released the key between the two statements
        raise KeyInFlight("the first call with this key has just finished; retry")
    if (row.route, row.request_hash) != (call.route, call.request_hash):
        raise KeyReused(f"this Idempotency-Key was first used for another request ({row.route})")
    if row.status_code is None:
        raise KeyInFlight("the first call with this Idempotency-Key is still running; retry shortly")
    return Answer(row.status_code, row.content_type, row.response_body or b"")


def finish(state: ApiState, call: IdempotentCall, answer: Answer) -> None:
    """Keep the answer of the call that claimed the key."""
    with transaction(state.pool) as conn:
        keys.complete(conn, call.principal, call.key, answer.status_code, answer.content_type, answer.body)


def abandon(state: ApiState, call: IdempotentCall) -> None:
    """Release the claim of a call that failed: the key answers nothing, and a retry runs afresh."""
    with transaction(state.pool) as conn:
        keys.release(conn, call.principal, call.key)
