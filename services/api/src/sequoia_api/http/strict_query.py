"""Unknown query parameters are refused (422), so a typo such as `?windw=1h` never passes silently."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from sequoia_api.http.errors import ApiError
from sequoia_core.errors import ErrorCode

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _declared(route: APIRoute) -> set[str]:
    return _query_names(route.dependant)


async def reject_unknown_query_params(request: Request) -> None:
    """App-wide dependency: every query parameter must be one the route declares, and none is a token."""
    if "token" in request.query_params:
        raise ApiError(400, ErrorCode.TOKEN_IN_URL, "a token is never taken in a URL (it would reach logs and "
                       "history): send Authorization: Bearer, or open a signed gallery link")
    if any(CONTROL.search(value) for value in request.query_params.values()):
        raise ApiError(422, ErrorCode.INVALID_REQUEST, "query parameters may not contain control characters")
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = set(request.query_params) - _declared(route)
    if unknown:
        raise ApiError(422, ErrorCode.INVALID_REQUEST, f"unknown query parameter(s): {', '.join(sorted(unknown))}")
