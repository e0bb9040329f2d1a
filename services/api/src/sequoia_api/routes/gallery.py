"""A page people look at: every item of a voyage with its thumbnail or waveform, state and error."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from sequoia_api import operations, reporting
from sequoia_api.auth import Access, find_grant
from sequoia_api.deps import TOKEN_COOKIE, Bearer, State, check_reader, require
from sequoia_api.errors import ApiError
from sequoia_api.schemas import RetryRequest
from sequoia_core.db import reports
from sequoia_core.db.media import MediaRow
from sequoia_core.db.pool import async_transaction
from sequoia_core.storage import Storage

router = APIRouter(tags=["gallery"], include_in_schema=False)
templates = Jinja2Templates(directory=FsPath(__file__).resolve().parents[1] / "templates")

VoyageSlug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
STATES = ("queued", "processing", "retrying", "completed", "failed", "cancelled")
_PICTURES = ("thumbnail", "waveform")


def _card(row: MediaRow, storage: Storage) -> dict:
    picture = next((d for name in _PICTURES for d in row.derivatives if d["name"] == name), None)
    return {
        "id": row.id,
        "filename": row.original_filename,
        "kind": row.media_kind,
        "status": row.processing_status,
        "error": f"{row.error_code}: {row.error_message}" if row.error_code else None,
        "picture": storage.presigned_url(picture["key"]) if picture else None,
    }


def _login(request: Request, state: State, token: str) -> Response:
    """`?token=…` once: keep it in an HttpOnly, same-site cookie and drop it from the address bar."""
    if find_grant(state.grants, token) is None:
        raise ApiError(status.HTTP_401_UNAUTHORIZED, "unauthorized", "that token is not valid")
    response = RedirectResponse(str(request.url.remove_query_params("token")), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.get("/voyages/{voyage_slug}", response_class=HTMLResponse)
async def read_voyage_page(voyage_slug: VoyageSlug, request: Request, state: State, credentials: Bearer,
                           token: Annotated[str | None, Query(max_length=512)] = None) -> Response:
    """The voyage's gallery: a grid of every item, live counts and a retry button."""
    if token is not None:
        return _login(request, state, token)
    check_reader(request, state, credentials)
    async with async_transaction(state.read_pool) as conn:
        summary = await reporting.voyage_status(conn, voyage_slug)
        rows = await reports.voyage_items(conn, voyage_slug)

    def render() -> Response:
        items = [_card(row, state.storage) for row in rows]
        context = {"voyage": voyage_slug, "status": summary, "items": items, "states": STATES}
        return templates.TemplateResponse(request, "voyage.html", context)

    # Presigning and rendering hundreds of cards is CPU work: keep it off the event loop.
    return await run_in_threadpool(render)


@router.post("/voyages/{voyage_slug}/retry")
def retry_from_page(voyage_slug: VoyageSlug, request: Request, state: State) -> Response:
    """The page's retry button: requeue the voyage's failed items, then show the page again.

    Only the page's same-site cookie authorises it, and a cross-site Origin is refused.
    """
    require(request, state, request.cookies.get(TOKEN_COOKIE), Access.WRITE)
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ApiError(status.HTTP_403_FORBIDDEN, "forbidden", "cross-site form posts are refused")
    operations.retry_failed(state, RetryRequest(voyage_slug=voyage_slug, include_permanent=True))
    return RedirectResponse(f"/voyages/{voyage_slug}", status_code=status.HTTP_303_SEE_OTHER)
