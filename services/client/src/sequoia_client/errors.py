"""What the client raises."""

from __future__ import annotations

from typing import Any


class SequoiaClientError(Exception):
    """Base of every error the client raises on purpose."""


class ResponseError(SequoiaClientError):
    """A non-2xx answer of the API (after any retries), with its stable error `code` (the `ErrorBody` it sent)."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code, self.code = status_code, body.get("code", "http_error")
        self.body = body
        super().__init__(f"{status_code} {self.code}: {body.get('message', '')}")


class WebhookVerificationError(SequoiaClientError):
    """A webhook whose signature, headers or timestamp do not check out: answer it 400 and drop it."""
