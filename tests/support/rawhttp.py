"""A raw HTTP/1.1 client for hostile-client tests: it keeps sending a (possibly endless) body while it
reads, so it sees an early answer the way a real client on a slow link would, and it counts what the
server let it send. httpx cannot do this: it sends the whole body before reading the answer."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 64 * 1024
BOUNDARY = "hostileboundary"


@dataclass
class Exchange:
    """What happened: the answer's status and body, the body bytes sent, and when the answer came."""

    status: int | None
    body: bytes
    sent: int
    seconds: float


def multipart_head(filename: str = "big.bin", field: str = "files") -> bytes:
    """The opening of one file part."""
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()


def zeros(total: int) -> Iterator[bytes]:
    """`total` zero bytes in chunks, never all in memory."""
    block = bytes(CHUNK)
    while total > 0:
        yield block[: min(total, CHUNK)]
        total -= CHUNK


def multipart_file(size: int, filename: str = "big.bin") -> Iterator[bytes]:
    """A one-file multipart body of `size` bytes of data, streamed."""
    yield multipart_head(filename)
    yield from zeros(size)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _chunked(body: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in body:
        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


def _answer(received: bytes) -> tuple[int | None, bytes, bool]:
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return None, b"", False
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for k, _, v in (line.partition(": ") for line in lines[1:]) if k.lower() == "content-length"), 0)
    return int(lines[0].split()[1]), body[:length], len(body) >= length


def post(url: str, path: str, body: Iterable[bytes], headers: dict[str, str], content_length: int | None = None,
         timeout: float = 10.0) -> Exchange:
    """POST `body` (chunked unless `content_length` is given) while reading; stop at the full answer."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    framing = {"Content-Length": str(content_length)} if content_length is not None else {"Transfer-Encoding": "chunked"}
    request = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in {**headers, **framing}.items()) + "\r\n"
    chunks = iter(body if content_length is not None else _chunked(body))
    pending, sent, received = request.encode(), -len(request), b""
    started = time.monotonic()
    sock.setblocking(False)
    try:
        while time.monotonic() - started < timeout:
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 0.05)
            if readable:
                try:
                    data = sock.recv(CHUNK)
                except ConnectionResetError:
                    data = b""
                received += data
                status, answer, complete = _answer(received)
                if complete or not data:
                    return Exchange(status, answer, max(sent, 0), time.monotonic() - started)
            if writable:
                try:
                    count = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    pending = b""
                    continue
                sent += count
                pending = pending[count:] or next(chunks, b"")
        return Exchange(None, received, max(sent, 0), time.monotonic() - started)
    finally:
        sock.close()
