"""An uploaded original as the ingest service sees it: spooled to disk, hashed and its head kept
for sniffing while it arrived (`sequoia_api.http.multipart` parses the body into these)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import BinaryIO

from sequoia_core.mediatypes import SNIFF_BYTES


@dataclass
class SpooledFile:
    """One uploaded file on disk: its client-side name, size, SHA-256 and first bytes."""

    filename: str
    file: BinaryIO
    size: int = 0
    head: bytes = b""
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def write(self, data: bytes) -> None:
        """Append `data`, hashing it and keeping the head for the sniffer."""
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self.digest.update(data)
        self.file.write(data)
        self.size += len(data)
