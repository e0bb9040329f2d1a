"""Domain errors with stable codes. Vendor errors are translated into these at the boundary."""

from __future__ import annotations

from enum import StrEnum
from functools import partial


class ErrorCode(StrEnum):
    """Every stable code: recorded on failed media and items refused at ingest, and returned in API errors."""

    # A file's own fault: no retry can cure it.
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
    # A run that did not end well.
    TIMEOUT = "timeout"
    RENDER_CRASHED = "render_crashed"
    MAX_ATTEMPTS = "max_attempts"
    ORIGINAL_MISSING = "original_missing"
    ORIGINAL_CHANGED = "original_changed"
    # A service was away.
    STORAGE_UNAVAILABLE = "storage_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    BROKER_UNAVAILABLE = "broker_unavailable"
    KUBERNETES_UNAVAILABLE = "kubernetes_unavailable"
    INTERNAL = "internal_error"
    UNKNOWN = "unknown"  # shown for a failed item recorded without a code
    # A request the API refuses.
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_REQUESTS = "too_many_requests"
    UNAVAILABLE = "unavailable"
    HTTP_ERROR = "http_error"
    INVALID_REQUEST = "invalid_request"
    INVALID_KEY = "invalid_key"
    INVALID_VOYAGE_SLUG = "invalid_voyage_slug"
    INVALID_FILENAME = "invalid_filename"
    INVALID_WINDOW = "invalid_window"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_LINK = "invalid_link"
    INVALID_WEBHOOK_URL = "invalid_webhook_url"
    TOKEN_IN_URL = "token_in_url"
    MALFORMED_MULTIPART = "malformed_multipart"
    TOO_MANY_FILES = "too_many_files"
    TOO_MANY_FIELDS = "too_many_fields"
    FIELD_TOO_LARGE = "field_too_large"
    BODY_TIMEOUT = "body_timeout"
    BACKPRESSURE = "backpressure"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"
    DERIVATIVE_NOT_FOUND = "derivative_not_found"
    # A direct upload (POST /api/voyages/{voyage}/uploads) that cannot be completed.
    INVALID_PARTS = "invalid_parts"
    SIZE_MISMATCH = "size_mismatch"
    UPLOAD_INCOMPLETE = "upload_incomplete"
    UPLOAD_COMPLETED = "upload_completed"
    UPLOAD_EXPIRED = "upload_expired"


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


# Codes of passing faults: the only ones a task retries by itself, and the only ones a
# `TransientError` may carry (it refuses any other). Every other code is permanent.
TRANSIENT_CODES = frozenset({
    ErrorCode.STORAGE_UNAVAILABLE,
    ErrorCode.DATABASE_UNAVAILABLE,
    ErrorCode.BROKER_UNAVAILABLE,
    ErrorCode.KUBERNETES_UNAVAILABLE,
})


def is_transient(code: str) -> bool:
    """Whether an error with this code is worth retrying (a service was away, not a bad file)."""
    return code in TRANSIENT_CODES


class SequoiaError(Exception):
    """Base of every error Sequoia raises on purpose."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = ErrorCode(code)

    def __reduce__(self) -> tuple:
        # Celery copies errors by pickling (a `Retry` keeps one): rebuild through the constructor, code included.
        return partial(type(self), code=self.code), (self.message,), self.__dict__


class NotFound(SequoiaError):
    """The thing asked for does not exist."""

    code = ErrorCode.NOT_FOUND


class Conflict(SequoiaError):
    """The thing exists but is in a state that forbids the request."""

    code = ErrorCode.CONFLICT


class PermanentError(SequoiaError):
    """A bad input: fail the item now, retrying cannot help."""

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message, code=code)
        if is_transient(self.code):
            raise ValueError(f"{self.code} is a transient code: raise TransientError")


class TransientError(SequoiaError):
    """A passing fault of a service: retry with backoff. Its code is always one of `TRANSIENT_CODES`."""

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message, code=code)
        if not is_transient(self.code):
            raise ValueError(f"{self.code} is not a transient code: raise PermanentError")


class BrokerUnavailable(TransientError):
    """Redis (the broker, or the workers' control channel on it) does not answer."""

    code = ErrorCode.BROKER_UNAVAILABLE


class ObjectNotFound(NotFound):
    """An S3 object that should exist does not."""

    code = ErrorCode.ORIGINAL_MISSING


def error_for(code: str, message: str) -> PermanentError | TransientError:
    """The error class its code calls for: transient codes retry, every other code fails now."""
    code = ErrorCode(code)
    return TransientError(message, code=code) if is_transient(code) else PermanentError(message, code=code)
