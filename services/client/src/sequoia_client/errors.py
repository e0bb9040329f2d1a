"""What the client raises."""

from __future__ import annotations

from typing import Any


class ResponseError(RuntimeError):
    """A non-2xx answer of the API, with its stable error `code` (the `ErrorBody` it sent)."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code, self.code = status_code, body.get("code", "http_error")
        self.body = body
        super().__init__(f"{status_code} {self.code}: {body.get('message', '')}")
