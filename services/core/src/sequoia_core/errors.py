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
    TOO_MANY_FRAMES = "too_many_frames"
    CONTENT_TOO_LARGE = "content_too_large"
    NO_STREAM = "no_stream"
    TIMEOUT = "timeout"
    RENDER_CRASHED = "render_crashed"
    MAX_ATTEMPTS = "max_attempts"
    ORIGINAL_MISSING = "original_missing"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    BROKER_UNAVAILABLE = "broker_unavailable"
    INTERNAL = "internal_error"


# Codes that no retry can cure: `retry-failed-thumbnails` skips them unless asked (`include_permanent`).
PERMANENT_CODES = frozenset({
    ErrorCode.UNSUPPORTED_TYPE,
    ErrorCode.TYPE_MISMATCH,
    ErrorCode.CORRUPT_FILE,
    ErrorCode.EMPTY_FILE,
    ErrorCode.FILE_TOO_LARGE,
    ErrorCode.IMAGE_TOO_LARGE,
    ErrorCode.ENCRYPTED_PDF,
    ErrorCode.TOO_LONG,
    ErrorCode.TOO_MANY_FRAMES,
    ErrorCode.CONTENT_TOO_LARGE,
    ErrorCode.NO_STREAM,
})


# Codes of passing faults: the only ones a task retries by itself. Every other code is permanent.
TRANSIENT_CODES = frozenset({
    ErrorCode.STORAGE_UNAVAILABLE,
    ErrorCode.DATABASE_UNAVAILABLE,
    ErrorCode.BROKER_UNAVAILABLE,
})


def is_transient(code: str) -> bool:
    """Whether an error with this code is worth retrying (a service was away, not a bad file)."""
    return code in TRANSIENT_CODES


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


def error_for(code: str, message: str) -> PermanentError | TransientError:
    """The error class its code calls for: transient codes retry, every other code fails now."""
    return TransientError(message, code=code) if is_transient(code) else PermanentError(message, code=code)
