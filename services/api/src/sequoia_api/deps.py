"""FastAPI dependencies: the app state and bearer-token checks.

The dependencies here do no I/O, so they are `async def`: FastAPI runs a sync dependency on the
threadpool, and those hops (several per request) cost more CPU than the status handlers themselves.

Handlers take a Postgres connection themselves (`with transaction(state.pool)`), never through a
yield dependency: FastAPI runs a sync dependency's exit on the threadpool after the response, so
under load threads waiting for a connection would starve the exits that give connections back.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sequoia_api.state import ApiState

_bearer = HTTPBearer(auto_error=False)


async def get_state(request: Request) -> ApiState:
    """The state built by the app's lifespan."""
    return request.app.state.sequoia


State = Annotated[ApiState, Depends(get_state)]


def _token_ok(presented: str, tokens: list[str]) -> bool:
    # Compare against every token in constant time, so timing reveals neither a token nor which matched.
    matches = [hmac.compare_digest(presented.encode(), token.encode()) for token in tokens]
    return any(matches)


TOKEN_COOKIE = "sequoia_token"


def token_valid(state: ApiState, presented: str | None) -> bool:
    """Whether `presented` is one of the configured tokens (none configured: nothing is valid)."""
    tokens = state.settings.api_tokens
    return bool(tokens and presented and _token_ok(presented, tokens))


def _check(state: ApiState, presented: str | None) -> None:
    if not state.settings.api_tokens:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no API tokens are configured (SEQUOIA_API_TOKEN)")
    if not token_valid(state, presented):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )


async def require_writer(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Every write needs a valid bearer token (never a cookie, so no cross-site request can write)."""
    _check(state, credentials.credentials if credentials else None)


def check_reader(request: Request, state: ApiState, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Reads need a token too, unless `PUBLIC_READS` is set; the gallery page's cookie also counts."""
    if state.settings.public_reads:
        return
    _check(state, credentials.credentials if credentials else request.cookies.get(TOKEN_COOKIE))


async def require_reader(
    request: Request, state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """The read check as a dependency."""
    check_reader(request, state, credentials)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Writer = Depends(require_writer)
Reader = Depends(require_reader)
