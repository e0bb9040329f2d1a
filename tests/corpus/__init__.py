"""The engines' test corpus, made at test time by code (Pillow, numpy, ffmpeg, PyMuPDF): no binaries
in git. `conformance` holds real-world edge cases that must render; `hostile` holds files that must
fail with an exact code, fast, and without harming the process that renders them.

Each maker writes one file into a folder and returns its path; `build(folder, makers)` makes many.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

Maker = Callable[[Path], Path]


def build(folder: Path, makers: dict[str, Maker]) -> dict[str, Path]:
    """Run every maker into `folder`; the paths by case name."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: maker(folder) for name, maker in makers.items()}


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; fail loudly if it fails."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes | None) -> bytes:
    """A PNG written by hand, so its header can say anything (`rows` None: an empty IDAT)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows or b""))
            + chunk(b"IEND", b""))


def tiff_bytes(tags: dict[int, tuple[int, list[int | None]]], data: bytes) -> bytes:
    """A little-endian TIFF with one directory written by hand, so its tags can say what no writer
    will: `tags` maps a tag to (type: 3 SHORT or 4 LONG, values); a value None is `data`'s offset."""
    data_offset = 8 + 2 + 12 * len(tags) + 4
    entries, extra = [], bytearray()
    for tag, (kind, values) in sorted(tags.items()):
        raw = b"".join(struct.pack("<H" if kind == 3 else "<I", data_offset if v is None else v) for v in values)
        if len(raw) > 4:  # stored after the data, the entry holds its offset
            raw, extra = struct.pack("<I", data_offset + len(data) + len(extra)), extra + raw
        entries.append(struct.pack("<HHI", tag, kind, len(values)) + raw.ljust(4, b"\0"))
    directory = struct.pack("<H", len(tags)) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + directory + data + bytes(extra)


def pdf_bytes(content: bytes, media_box: str = "0 0 612 792", extra: bytes = b"",
              compressed: bytes | None = None) -> bytes:
    """A one-page PDF written by hand around a Flate-compressed content stream (`compressed`, when
    given, is used as the stream as it is)."""
    compressed = zlib.compress(content, 9) if compressed is None else compressed
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [" + media_box.encode() + b"] /Contents 4 0 R " + extra + b">>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed) + compressed + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
