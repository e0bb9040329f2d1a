"""One place that turns every error into JSON with a stable `code`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sequoia_core.errors import Conflict, NotFound, PermanentError, SequoiaError, TransientError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_type",
    422: "invalid_request",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An error raised by a route with an explicit HTTP status."""

    def __init__(self, status_code: int, code: str, message: str, detail: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message, self.detail = status_code, code, message, detail
        self.headers = headers


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The `ErrorBody` shape every error answer has."""
    return {"code": str(code), "message": message, "detail": detail}


def _status_of(err: SequoiaError) -> int:
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, Conflict):
        return 409
    if isinstance(err, PermanentError):
        return 422
    if isinstance(err, TransientError):
        return 503
    return 500


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error response the `ErrorBody` shape."""

    @app.exception_handler(ApiError)
    def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(error_body(err.code, err.message, err.detail), status_code=err.status_code,
                            headers=err.headers)

    @app.exception_handler(SequoiaError)
    def _sequoia_error(request: Request, err: SequoiaError) -> JSONResponse:
        status_code = _status_of(err)
        if status_code >= 500:
            log.error("%s %s failed: %s (%s)", request.method, request.url.path, err.code, err.message)
        headers = {"Retry-After": "5"} if status_code == 503 else None
        return JSONResponse(error_body(err.code, err.message), status_code=status_code, headers=headers)

    @app.exception_handler(RedisError)
    @app.exception_handler(KombuOperationalError)
    def _broker_error(request: Request, err: Exception) -> JSONResponse:
        log.error("%s %s: broker unavailable: %s", request.method, request.url.path, err)
        return JSONResponse(error_body("broker_unavailable", "the Redis broker is unreachable"), status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    def _validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in err.errors()]
        return JSONResponse(error_body("invalid_request", "the request is not valid", detail), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, err: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(err.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(err.detail)), status_code=err.status_code, headers=getattr(err, "headers", None)
        )
