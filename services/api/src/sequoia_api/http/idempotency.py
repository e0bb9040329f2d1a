"""The `Idempotency-Key` header of every write: read and checked here, its call run through
`sequoia_api.services.idempotency` (claim, run, keep or release the answer).

A route takes `key: IdempotencyKey`, states `IDEMPOTENT_RESPONSES` and `IDEMPOTENT_OPENAPI` in its
decorator, and wraps its work in `idempotent(...)` with a hash of its request. Only answers below 400
are kept and replayed: an error answer (or an exception) releases the key, so the retry runs again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from sequoia_api.http.auth import bearer_token
from sequoia_api.http.errors import ApiError
from sequoia_api.schemas import ErrorBody
from sequoia_api.services import idempotency as service
from sequoia_api.services.idempotency import Answer, IdempotentCall, KeyInFlight, KeyReused
from sequoia_api.state import ApiState
from sequoia_core.errors import ErrorCode

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII

IDEMPOTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "`invalid_idempotency_key`: not 1-255 printable ASCII characters"},
    409: {"model": ErrorBody, "description": "`idempotency_key_reused` (the key was first used for another "
                                             "request) or `idempotency_key_in_flight` (its first call still "
                                             "runs: retry after `Retry-After`)"},
}
IDEMPOTENT_OPENAPI: dict[str, Any] = {"parameters": [{
    "name": HEADER, "in": "header", "required": False,
    "description": "Makes the call safe to retry: the same key with the same request answers the first "
                   "answer (kept `IDEMPOTENCY_KEY_HOURS`, at least 24 h) without running again; the "
                   f"replay carries `{REPLAYED_HEADER}: true`.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[\\x20-\\x7e]+$"},
}]}


async def idempotency_key(request: Request) -> str | None:
    """The request's key, if it has one; 400 `invalid_idempotency_key` when it is malformed."""
    key = request.headers.get(HEADER)
    if key is not None and not _KEY.fullmatch(key):
        raise ApiError(400, ErrorCode.INVALID_IDEMPOTENCY_KEY,
                       f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def body_hash(*parts: bytes | BaseModel | None) -> str:
    """The request hash of a call: SHA-256 over its parts (a validated body as canonical JSON)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.model_dump_json().encode() if isinstance(part, BaseModel) else (part or b"")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _call(request: Request, key: str, request_hash: str) -> IdempotentCall:
    token = bearer_token(request.headers.get("authorization")) or ""  # writes always have one (front door)
    route = f"{request.method} {request.url.path}?{request.url.query}"
    return IdempotentCall(service.principal_of(token), key, route, request_hash)


def idempotent(state: ApiState, request: Request, key: str | None, request_hash: str,
               run: Callable[[], Response]) -> Response:
    """Run the call once per key: the first answer is kept and replayed (blocking: call it off the loop)."""
    if key is None:
        return run()
    call = _call(request, key, request_hash)
    try:
        stored = service.begin(state, call)
    except KeyInFlight as err:
        raise ApiError(409, err.code, err.message, headers={"Retry-After": "1"}) from err
    except KeyReused as err:
        raise ApiError(409, err.code, err.message) from err
    if stored is not None:
        return Response(stored.body, status_code=stored.status_code, media_type=stored.content_type,
                        headers={REPLAYED_HEADER: "true"})
    try:
        response = run()
    except BaseException:
        service.abandon(state, call)
        raise
    if response.status_code >= 400:
        service.abandon(state, call)
    else:
        service.finish(state, call, Answer(response.status_code, response.media_type, bytes(response.body)))
    return response
