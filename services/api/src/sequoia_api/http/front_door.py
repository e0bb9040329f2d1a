"""The front door: an ASGI layer in front of routing that refuses before reading.

A request that may write (any non-GET call under `/api/`) is authenticated from its headers before
one byte of its body is read, and every body is checked against its limit twice: the declared
`Content-Length` at once, then the bytes actually received while the app streams them (a chunked or
lying body is cut off as soon as it crosses the limit), and a body that stops arriving for
`BODY_IDLE_TIMEOUT_SECONDS` is cut off with 408 (uvicorn has no such timeout). Refusals carry
`Connection: close`, so uvicorn drops the socket instead of draining the rest of the body.
"""

from __future__ import annotations

import asyncio
import re

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sequoia_api.http.auth import Access, bearer_token, check, grants_from, item_write_scope
from sequoia_api.http.errors import error_body
from sequoia_core import metrics
from sequoia_core.errors import ErrorCode
from sequoia_core.settings import Settings

UPLOAD_PATH = re.compile(r"^/api/voyages/(?P<voyage>[^/]+)/media$")
_VOYAGE_PATH = re.compile(r"^/api/voyages/(?P<voyage>[^/]+)(?:/|$)")
_ITEM_DELETE_PATH = re.compile(r"^/api/media/[^/]+$")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyRefused(Exception):
    """Raised into the app by `receive` when the body crosses its limit or stops arriving."""


def _refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers={"Connection": "close", **(headers or {})})


class FrontDoor:
    """Authenticate writes and bound every body before the app reads it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.grants = grants_from(settings)

    def _limit(self, scope: Scope) -> tuple[int, str]:
        if scope["method"] == "POST" and UPLOAD_PATH.match(scope["path"]):
            return self.settings.max_upload_bytes, ErrorCode.FILE_TOO_LARGE
        return self.settings.max_json_bytes, ErrorCode.PAYLOAD_TOO_LARGE

    def _refuse_early(self, scope: Scope, headers: Headers, limit: int, code: str) -> JSONResponse | None:
        """The refusal a request earns from its headers alone, or None."""
        path, method = scope["path"], scope["method"]
        if path.startswith("/api/") and method not in _READ_METHODS:
            voyage, presented = _VOYAGE_PATH.match(path), bearer_token(headers.get("authorization"))
            if method == "DELETE" and _ITEM_DELETE_PATH.match(path):  # the item's voyage is checked by the call
                denied, _ = item_write_scope(self.grants, presented)
            else:
                denied = check(self.grants, presented, Access.WRITE, voyage["voyage"] if voyage else None)
            if denied is not None:
                return _refusal(denied.status, denied.code, denied.message, denied.headers)
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > limit):
            return self._too_large(limit, code)
        return None

    def _too_large(self, limit: int, code: str) -> JSONResponse:
        if code == ErrorCode.FILE_TOO_LARGE:
            metrics.INGEST_REJECTED.labels(code).inc()
        return _refusal(413, code, f"the request body is over the limit of {limit} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, code = self._limit(scope)
        early = self._refuse_early(scope, Headers(scope=scope), limit, code)
        if early is not None:
            await early(scope, receive, send)
            return
        await self._stream_bounded(scope, receive, send, limit, code)

    async def _stream_bounded(self, scope: Scope, receive: Receive, send: Send, limit: int, code: str) -> None:
        received, complete, started = 0, False, False
        refusal: JSONResponse | None = None
        idle = self.settings.body_idle_timeout_seconds

        async def bounded_receive() -> Message:
            nonlocal received, complete, refusal
            if complete:  # after the body, the app may wait for a disconnect as long as it likes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), idle)
            except TimeoutError:
                refusal = _refusal(408, ErrorCode.BODY_TIMEOUT, f"no byte of the body arrived for {idle:g} s")
                raise BodyRefused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    refusal = self._too_large(limit, code)
                    raise BodyRefused
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refusal is not None:
                return  # whatever the app makes of the cut-off body, the client gets the refusal
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracked_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not started:
            await refusal(scope, receive, send)
