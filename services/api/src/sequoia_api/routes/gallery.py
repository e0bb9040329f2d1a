"""A page people look at: every item of a voyage with its thumbnail or waveform, state and error."""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from sequoia_api.http.auth import Access, check
from sequoia_api.http.deps import Bearer, Reader, State, VoyageSlug, check_reader
from sequoia_api.http.errors import ApiError
from sequoia_api.http.headers import page_csp
from sequoia_api.http.sessions import LINK_PARAM, SESSION_COOKIE, SESSION_SECONDS, Session
from sequoia_api.schemas import GalleryLink, RetryRequest
from sequoia_api.services import retry, voyages
from sequoia_api.services.media import derivative_link, placeholder
from sequoia_api.state import ApiState
from sequoia_core import lifecycle
from sequoia_core.db.media import MediaRow
from sequoia_core.errors import ErrorCode
from sequoia_core.lifecycle import FINAL_STATES, Status

router = APIRouter(tags=["gallery"], include_in_schema=False)
link_router = APIRouter(prefix="/api/voyages", tags=["gallery"])
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parents[1] / "templates")

# The counts shown: `pending` lasts only until its publish (the total counts it).
STATES = tuple(s.value for s in Status if s is not Status.PENDING)
FINAL = lifecycle.values(FINAL_STATES)
_PICTURES = ("thumbnail", "waveform")


def _card(row: MediaRow) -> dict:
    picture = next((d for name in _PICTURES for d in row.derivatives if d["name"] == name), None)
    return {
        "id": row.id,
        "filename": row.original_filename,
        "kind": row.media_kind,
        "status": row.processing_status,
        "error": f"{row.error_code}: {row.error_message}" if row.error_code else None,
        # The stable link (the session cookie reads it): a page left open never shows expired pictures.
        "picture": derivative_link(row.id, picture["name"]) if picture else None,
        # The picture's size and placeholder: its box and ThumbHash show before its bytes arrive.
        "width": picture.get("width") if picture else None,
        "height": picture.get("height") if picture else None,
        "thumbhash": placeholder(row) if picture else None,
    }


def _start_session(request: Request, state: ApiState, voyage: str, access: Access, expires_at: int) -> Response:
    """Set a session cookie (it holds no token) and send the browser to the bare page URL."""
    response = RedirectResponse(f"/voyages/{voyage}", status_code=status.HTTP_303_SEE_OTHER)
    expires_at = min(expires_at, int(time.time()) + SESSION_SECONDS)
    response.set_cookie(SESSION_COOKIE, state.signer.session(voyage, access, expires_at), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", max_age=expires_at - int(time.time()))
    return response


def _open_link(request: Request, state: ApiState, voyage: str, link: str) -> Response:
    """A signed link becomes a read session, then disappears from the address bar."""
    expires_at = state.signer.check_link(voyage, link)
    if expires_at is None:
        raise ApiError(status.HTTP_401_UNAUTHORIZED, ErrorCode.INVALID_LINK,
                       "this gallery link is not valid or has expired")
    return _start_session(request, state, voyage, Access.READ, expires_at)


def _session(request: Request, state: ApiState, voyage: str) -> Session | None:
    session = state.signer.read_session(request.cookies.get(SESSION_COOKIE))
    return session if session is not None and session.voyage == voyage else None


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ApiError(status.HTTP_403_FORBIDDEN, ErrorCode.FORBIDDEN, "cross-site form posts are refused")


@router.get("/voyages/{voyage_slug}", response_class=HTMLResponse)
async def read_voyage_page(voyage_slug: VoyageSlug, request: Request, state: State, credentials: Bearer,
                           link: Annotated[str | None, Query(alias=LINK_PARAM, max_length=256)] = None) -> Response:
    """The voyage's gallery: a grid of every item, live counts and a retry button."""
    if link is not None:
        return _open_link(request, state, voyage_slug, link)
    check_reader(request, state, credentials)
    session = _session(request, state, voyage_slug)
    writable = session is not None and session.access is Access.WRITE
    summary, rows = await voyages.gallery_view(state, voyage_slug)

    def render() -> Response:
        items = [_card(row) for row in rows]
        csrf = state.signer.csrf(request.cookies[SESSION_COOKIE]) if writable else None
        nonce = secrets.token_urlsafe(16)
        context = {"voyage": voyage_slug, "status": summary, "items": items, "states": STATES, "final_states": FINAL, "csrf": csrf,
                   "nonce": nonce}
        origins = {state.storage.public_origin}  # the links redirect there
        return templates.TemplateResponse(request, "voyage.html", context,
                                          headers={"Content-Security-Policy": page_csp(nonce, origins)})

    # Rendering hundreds of cards is CPU work: keep it off the event loop.
    return await run_in_threadpool(render)


@router.post("/voyages/{voyage_slug}/session")
def sign_in(voyage_slug: VoyageSlug, request: Request, state: State,
            token: Annotated[str, Form(max_length=512)]) -> Response:
    """Trade a write token, posted in the form body (never a URL), for a write session of this voyage."""
    _check_origin(request)
    denied = check(state.grants, token, Access.WRITE, voyage_slug)
    if denied is not None:
        raise ApiError(denied.status, denied.code, denied.message)
    return _start_session(request, state, voyage_slug, Access.WRITE, int(time.time()) + SESSION_SECONDS)


@router.post("/voyages/{voyage_slug}/retry")
def retry_from_page(voyage_slug: VoyageSlug, request: Request, state: State,
                    csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    """The page's retry button: requeue the voyage's failed items, then show the page again.

    It needs a write session of this voyage, the session's CSRF token in the form, and no cross-site Origin.
    """
    _check_origin(request)
    session = _session(request, state, voyage_slug)
    if session is None or session.access is not Access.WRITE:
        raise ApiError(status.HTTP_401_UNAUTHORIZED, ErrorCode.UNAUTHORIZED, "sign in with a write token to retry")
    if not hmac.compare_digest(csrf, state.signer.csrf(request.cookies[SESSION_COOKIE])):
        raise ApiError(status.HTTP_403_FORBIDDEN, ErrorCode.FORBIDDEN, "the form's CSRF token is missing or wrong")
    retry.retry_failed(state, RetryRequest(voyage_slug=voyage_slug, include_permanent=True))
    return RedirectResponse(f"/voyages/{voyage_slug}", status_code=status.HTTP_303_SEE_OTHER)


@link_router.get("/{voyage_slug}/gallery-link", response_model=GalleryLink, dependencies=[Reader])
def read_gallery_link(voyage_slug: VoyageSlug, request: Request, state: State) -> GalleryLink:
    """A signed, expiring, read-only link to the voyage's gallery, to share instead of a token."""
    value, expires_at = state.signer.link(voyage_slug)
    url = request.url_for("read_voyage_page", voyage_slug=voyage_slug).include_query_params(**{LINK_PARAM: value})
    return GalleryLink(url=str(url), expires_at=datetime.fromtimestamp(expires_at, tz=UTC))
