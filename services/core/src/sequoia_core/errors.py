"""Domain errors with stable codes. Vendor errors are translated into these at the boundary."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes recorded on failed media and returned in API errors."""

    UNSUPPORTED_TYPE = "unsupported_type"
    TYPE_MISMATCH = "type_mismatch"
    CORRUPT_FILE = "corrupt_file"
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    IMAGE_TOO_LARGE = "image_too_large"
    ENCRYPTED_PDF = "encrypted_pdf"
    TOO_LONG = "too_long"
    TIMEOUT = "timeout"
    RENDER_CRASHED = "render_crashed"
    MAX_ATTEMPTS = "max_attempts"
    ORIGINAL_MISSING = "original_missing"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    BROKER_UNAVAILABLE = "broker_unavailable"
    INTERNAL = "internal_error"


class SequoiaError(Exception):
    """Base of every error Sequoia raises on purpose."""

    code: str = ErrorCode.INTERNAL

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(SequoiaError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(SequoiaError):
    """The thing exists but is in a state that forbids the request."""

    code = "conflict"


class PermanentError(SequoiaError):
    """A bad input: fail the item now, retrying cannot help."""


class TransientError(SequoiaError):
    """A passing fault of a service: retry with backoff."""


class ObjectNotFound(NotFound):
    """An S3 object that should exist does not."""

    code = ErrorCode.ORIGINAL_MISSING
