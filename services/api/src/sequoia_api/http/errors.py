"""One place that turns every error into JSON with a stable `code`: our own errors (`SequoiaError`,
one handler) and the framework's (request validation, Starlette's 404/405)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sequoia_core.errors import Conflict, ErrorCode, NotFound, PermanentError, SequoiaError, TransientError

log = logging.getLogger(__name__)

# The codes of the statuses the framework answers with by itself.
_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_TYPE,
    422: ErrorCode.INVALID_REQUEST,
    429: ErrorCode.TOO_MANY_REQUESTS,
    503: ErrorCode.UNAVAILABLE,
}
RETRY_AFTER_SECONDS = "5"


class ApiError(SequoiaError):
    """A refusal only HTTP knows how to say, with its explicit status (and detail, headers)."""

    def __init__(self, status_code: int, code: ErrorCode, message: str, detail: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code)
        self.status_code, self.detail, self.headers = status_code, detail, headers


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The `ErrorBody` shape every error answer has."""
    return {"code": str(code), "message": message, "detail": detail}


def status_of(err: SequoiaError) -> int:
    """The HTTP status an error is answered with."""
    if isinstance(err, ApiError):
        return err.status_code
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, Conflict):
        return 409
    if isinstance(err, PermanentError):
        return 422
    if isinstance(err, TransientError):
        return 503
    return 500


def _headers_of(err: SequoiaError) -> dict[str, str] | None:
    if isinstance(err, ApiError):
        return err.headers
    return {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(err, TransientError) else None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error response the `ErrorBody` shape."""

    @app.exception_handler(SequoiaError)
    def _sequoia_error(request: Request, err: SequoiaError) -> JSONResponse:
        status_code = status_of(err)
        if status_code >= 500 and not isinstance(err, ApiError):
            cause = f": {err.__cause__}" if err.__cause__ is not None else ""
            log.error("%s %s failed: %s (%s)%s", request.method, request.url.path, err.code, err.message, cause)
        return JSONResponse(error_body(err.code, err.message, getattr(err, "detail", None)), status_code=status_code,
                            headers=_headers_of(err))

    @app.exception_handler(RequestValidationError)
    def _validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in err.errors()]
        return JSONResponse(error_body(ErrorCode.INVALID_REQUEST, "the request is not valid", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(err.status_code, ErrorCode.HTTP_ERROR)
        headers = getattr(err, "headers", None)
        if err.status_code == 405:
            headers = {**(headers or {}), **_documented_allow(request)}
        return JSONResponse(error_body(code, str(err.detail)), status_code=err.status_code, headers=headers)


def _documented_allow(request: Request) -> dict[str, str]:
    """`Allow` with every documented method of the path: Starlette's 405 names only the first
    matching route's (a path with GET and POST handlers would answer `Allow: POST`)."""
    path = request.url.path
    for template, operations in request.app.openapi()["paths"].items():
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path):
            return {"Allow": ", ".join(sorted(method.upper() for method in operations))}
    return {}
