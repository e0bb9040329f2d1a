"""An uploaded original as the ingest service sees it: spooled, hashed and its head kept for sniffing
while it arrived (`sequoia_api.http.multipart` parses the body into these).

A file is kept in memory while the process's budget (`UPLOAD_MEMORY_BYTES`, shared by every request)
lasts, then moved to an anonymous file on disk for the rest of its life: a temporary file cost ≈ 0.5 ms
of CPU a MB to write, read back and free, and the budget keeps a flood of uploads on disk."""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sequoia_core.mediatypes import SNIFF_BYTES


class SpoolMemory:
    """The bytes of uploads this process may hold in memory at once (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve `size` bytes; False (nothing reserved) when that would pass the limit."""
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give_back(self, size: int) -> None:
        """Release bytes reserved by `take`."""
        with self._lock:
            self.used -= size


@dataclass
class SpooledFile:
    """One uploaded file: its client-side name, size, SHA-256 and first bytes, and its bytes in memory
    (within `memory`) or in an anonymous file under `spool_dir`."""

    filename: str
    memory: SpoolMemory
    spool_dir: Path | None = None
    file: BinaryIO = field(default_factory=io.BytesIO)
    size: int = 0
    head: bytes = b""
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    on_disk: bool = field(default=False, init=False)
    _held: int = field(default=0, init=False)  # bytes of `memory` this file holds

    def write(self, data: bytes) -> None:
        """Append `data`, hashing it and keeping the head for the sniffer; to disk once the memory
        budget does not hold it."""
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self.digest.update(data)
        if not self.on_disk:
            if self.memory.take(len(data)):
                self._held += len(data)
            else:
                self._move_to_disk()
        self.file.write(data)
        self.size += len(data)

    def _move_to_disk(self) -> None:
        spool = tempfile.TemporaryFile(dir=self.spool_dir)
        with self.file.getbuffer() as written:  # type: ignore[attr-defined]
            spool.write(written)
        self.close()
        self.file, self.on_disk = spool, True

    def close(self) -> None:
        """Free the file: its memory back to the budget, or its anonymous file off the disk."""
        self.file.close()
        self.memory.give_back(self._held)
        self._held = 0
