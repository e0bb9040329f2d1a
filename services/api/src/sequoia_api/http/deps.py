"""FastAPI dependencies: the app state and bearer-token checks.

The dependencies here do no I/O, so they are `async def`: FastAPI runs a sync dependency on the
threadpool, and those hops (several per request) cost more CPU than the status handlers themselves.

Handlers take a Postgres connection themselves (`with transaction(state.pool)`), never through a
yield dependency: FastAPI runs a sync dependency's exit on the threadpool after the response, so
under load threads waiting for a connection would starve the exits that give connections back.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sequoia_api.http.auth import Access, check, find_grant, item_write_scope
from sequoia_api.http.errors import ApiError
from sequoia_api.http.sessions import SESSION_COOKIE
from sequoia_api.state import ApiState
from sequoia_core.storage import VOYAGE_SLUG_MAX_LENGTH, VOYAGE_SLUG_PATTERN

_bearer = HTTPBearer(auto_error=False)


async def get_state(request: Request) -> ApiState:
    """The state built by the app's lifespan."""
    return request.app.state.sequoia


State = Annotated[ApiState, Depends(get_state)]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
VoyageSlug = Annotated[str, Path(min_length=1, max_length=VOYAGE_SLUG_MAX_LENGTH, pattern=VOYAGE_SLUG_PATTERN)]


def require(request: Request, state: ApiState, presented: str | None, access: Access, voyage: str | None = None) -> None:
    """Refuse (401/403) unless `presented` grants `access` on `voyage` (default: the one the path names, if any)."""
    denied = check(state.grants, presented, access, voyage or request.path_params.get("voyage_slug"))
    if denied is not None:
        raise ApiError(denied.status, denied.code, denied.message, headers=denied.headers or None)


async def require_writer(request: Request, state: State, credentials: Bearer) -> None:
    """Every write needs a write token (never a cookie, so no cross-site request can write)."""
    require(request, state, credentials.credentials if credentials else None, Access.WRITE)


async def require_item_writer(state: State, credentials: Bearer) -> frozenset[str] | None:
    """A write token for a call on one item: the voyages it may write (None: every one); the service
    treats an item elsewhere as absent."""
    denied, voyages = item_write_scope(state.grants, credentials.credentials if credentials else None)
    if denied is not None:
        raise ApiError(denied.status, denied.code, denied.message, headers=denied.headers or None)
    return voyages


def check_reader(request: Request, state: ApiState, credentials: HTTPAuthorizationCredentials | None,
                 voyage: str | None = None) -> None:
    """Reads need a read or write token, unless `PUBLIC_READS` is set; a gallery session reads its own voyage.
    `voyage`: the voyage read, when the path names an item of it rather than the voyage."""
    if state.settings.public_reads:
        return
    voyage = voyage or request.path_params.get("voyage_slug")
    if credentials is None:
        session = state.signer.read_session(request.cookies.get(SESSION_COOKIE))
        if session is not None and session.voyage == voyage:
            return
    require(request, state, credentials.credentials if credentials else None, Access.READ, voyage)


def check_anyone_reads(request: Request, state: ApiState, credentials: HTTPAuthorizationCredentials | None) -> None:
    """401 for a caller with neither a valid token nor a gallery session, before anything is looked up (a
    call that names an item by id learns its voyage, hence the full check, only from the item)."""
    if state.settings.public_reads or state.signer.read_session(request.cookies.get(SESSION_COOKIE)) is not None:
        return
    presented = credentials.credentials if credentials else None
    if find_grant(state.grants, presented) is None:
        require(request, state, presented, Access.READ)


async def require_reader(request: Request, state: State, credentials: Bearer) -> None:
    """The read check as a dependency."""
    check_reader(request, state, credentials)


Writer = Depends(require_writer)
ItemWriter = Annotated[frozenset[str] | None, Depends(require_item_writer)]
Reader = Depends(require_reader)
