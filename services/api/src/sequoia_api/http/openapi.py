"""The OpenAPI document says what the API really answers: every error is an `ErrorBody`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_COMMON_ERRORS = {
    "401": "a valid bearer token is required",
    "422": "the request is not valid",
    "503": "a service Sequoia needs is unreachable; retry later",
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _document_errors(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in _COMMON_ERRORS.items():
                # FastAPI's default 422 schema is replaced: our handler answers with ErrorBody.
                if status == "422" or status not in responses:
                    responses[status] = _error_response(description)
            if "requestBody" in operation:
                responses.setdefault("400", _error_response("the body cannot be parsed"))
                responses.setdefault("413", _error_response("the body is over its limit"))
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """Build the schema once, with the error responses every /api route can give."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            _document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
