"""Multipart uploads streamed to a spool: each file is spooled from its first byte (in memory within
the process's `UPLOAD_MEMORY_BYTES`, else on disk), hashed and its head kept for sniffing while it
arrives, so memory stays bounded whatever the parts and nothing is read twice.

Starlette's own parser keeps every file part in RAM up to 1 MB (1000 parts: a gigabyte), so ingest
parses with python-multipart's streaming `MultipartParser` directly, bounded in files, fields, field
size and (python-multipart's own bounds) headers per part. The body's total size is bounded before
this runs, by the front door.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.concurrency import run_in_threadpool

from sequoia_api.http.errors import ApiError
from sequoia_api.services.uploads import SpooledFile, SpoolMemory
from sequoia_core.errors import ErrorCode

FILES_FIELD = "files"
_FLUSH_BYTES = 1024 * 1024  # file data buffered in memory between two writes to the spool
_MAX_FIELD_BYTES = 64 * 1024


@dataclass
class UploadLimits:
    """How many file and non-file parts a request may have, and where its files spool."""

    max_files: int
    max_fields: int
    memory: SpoolMemory
    spool_dir: Path | None = None


def _malformed(message: str) -> ApiError:
    return ApiError(400, ErrorCode.MALFORMED_MULTIPART, message)


class MultipartSpooler:
    """Parse one multipart body into `SpooledFile`s of the `files` field; other parts are counted and dropped."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.files: list[SpooledFile] = []
        self._files = self._fields = 0
        self._header_name = self._header_value = b""
        self._disposition = b""
        self._current: SpooledFile | None = None
        self._field_bytes = 0
        self._pending: list[tuple[SpooledFile, bytes]] = []
        self._pending_bytes = 0

    # -- python-multipart callbacks (synchronous: they only record; file writes happen off the loop)
    def _on_part_begin(self) -> None:
        self._disposition, self._current, self._field_bytes = b"", None, 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise _malformed('every part needs a Content-Disposition header with a "name"')
        if b"filename" not in options:
            self._fields += 1
            if self._fields > self.limits.max_fields:
                raise ApiError(413, ErrorCode.TOO_MANY_FIELDS,
                               f"at most {self.limits.max_fields} form fields per request")
            return
        self._files += 1
        if self._files > self.limits.max_files:
            raise ApiError(413, ErrorCode.TOO_MANY_FILES, f"at most {self.limits.max_files} files per request")
        if options[b"name"] == FILES_FIELD.encode():
            filename = options[b"filename"].decode("utf-8", errors="replace")
            self._current = SpooledFile(filename=filename, memory=self.limits.memory, spool_dir=self.limits.spool_dir)
            self.files.append(self._current)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is not None:
            self._pending.append((self._current, data[start:end]))
            self._pending_bytes += end - start
            return
        self._field_bytes += end - start
        if self._field_bytes > _MAX_FIELD_BYTES:
            raise ApiError(413, ErrorCode.FIELD_TOO_LARGE, f"a form field is over {_MAX_FIELD_BYTES} bytes")

    def _flush(self) -> None:
        for spooled, data in self._pending:
            spooled.write(data)
        self._pending, self._pending_bytes = [], 0

    async def receive(self, content_type: str, body: AsyncIterator[bytes]) -> list[SpooledFile]:
        """Spool every file of `body` but its last bytes (up to a MB), which `finish` spools and hashes in
        the thread-pool hop the caller makes anyway; `ApiError` (4xx) for a malformed or over-bounded body."""
        kind, params = parse_options_header(content_type)
        if kind != b"multipart/form-data" or b"boundary" not in params:
            raise ApiError(422, ErrorCode.INVALID_REQUEST, "a multipart/form-data body with a boundary is required")
        try:
            parser = MultipartParser(params[b"boundary"], {
                "on_part_begin": self._on_part_begin, "on_part_data": self._on_part_data,
                "on_header_field": self._on_header_field, "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end, "on_headers_finished": self._on_headers_finished,
            })
            async for chunk in body:
                parser.write(chunk)
                if self._pending_bytes >= _FLUSH_BYTES:
                    await run_in_threadpool(self._flush)
        except (MultipartParseError, ValueError) as err:
            raise _malformed(f"the multipart body is malformed: {err}") from err
        if parser.state != MultipartState.END:
            raise _malformed("the multipart body ended before its closing boundary")
        return self.files

    def finish(self) -> None:
        """Spool and hash the last bytes `receive` left, and rewind every file (blocking: off the loop)."""
        self._flush()
        for spooled in self.files:
            spooled.file.seek(0)

    def close(self) -> None:
        """Free every spool (memory back to the budget; anonymous files: closing frees the disk)."""
        for spooled in self.files:
            spooled.close()
