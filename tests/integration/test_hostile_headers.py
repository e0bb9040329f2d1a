"""Slow clients at the front door, against the real API in a uvicorn process started with
`sequoia_api.http_protocol`: request lines and headers that trickle in, keep-alive connections left
idle, and many idle sockets opened at once are all closed after `HEADER_TIMEOUT_SECONDS`."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.services import ApiProcess, running_api

# HEADER_TIMEOUT_SECONDS is 10 by default; 2 here, so each test waits 2 s instead of 10.
TIMEOUT = 2.0
MARGIN = 2.0  # a safety bound for a shared, busy machine; well under uvicorn's own 5 s keep-alive
ESTABLISHED = "01"


@pytest.fixture(scope="module")
def header_api(service_env, workdir) -> Iterator[ApiProcess]:
    """An API whose header timeout is 2 s."""
    with running_api(service_env, workdir, HEADER_TIMEOUT_SECONDS=str(TIMEOUT)) as process:
        yield process


def _connect(api: ApiProcess) -> socket.socket:
    parts = urlsplit(api.url)
    return socket.create_connection((parts.hostname, parts.port))


def _closed_by_server(sock: socket.socket, within: float, trickle: bytes = b"") -> float:
    """Send `trickle` one byte a second until the server closes the socket; the seconds that took."""
    started = time.monotonic()
    pending = iter(trickle)
    while time.monotonic() - started < within:
        readable, _, _ = select.select([sock], [], [], 1.0)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
        elif (byte := next(pending, None)) is not None:
            sock.send(bytes([byte]))
    raise AssertionError(f"the server kept the socket open for {within} s")


def _established(api: ApiProcess) -> int:
    """How many of the API's server-side sockets are ESTABLISHED, from /proc/net/tcp."""
    port = f"{urlsplit(api.url).port:04X}"
    rows = (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
    return sum(1 for row in rows if row[1].endswith(f":{port}") and row[3] == ESTABLISHED)


def _wait_for(condition, within: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, "condition not met in time"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_trickling_request_is_cut_off_while_others_are_answered(header_api):
    sock = _connect(header_api)
    sock.sendall(b"GET /readyz HT")
    try:
        answered = httpx.get(f"{header_api.url}/readyz", timeout=5)
        seconds = _closed_by_server(sock, TIMEOUT + MARGIN, trickle=b"TP/1.1\r\nX-Slow: " + b"a" * 60)
    finally:
        sock.close()

    assert answered.status_code == 200
    assert seconds < TIMEOUT + MARGIN


@pytest.mark.parametrize("next_request", [b"", b"G"], ids=["idle", "one-byte-then-idle"])
def test_a_keep_alive_connection_is_closed_after_its_response(header_api, next_request):
    # uvicorn's own keep-alive timer (5 s) is cancelled by the first byte of a next request; ours is not.
    sock = _connect(header_api)
    try:
        sock.sendall(f"GET /readyz HTTP/1.1\r\nHost: {urlsplit(header_api.url).netloc}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.sendall(next_request)
        seconds = _closed_by_server(sock, TIMEOUT + MARGIN)
    finally:
        sock.close()

    assert seconds < TIMEOUT + MARGIN


def test_many_idle_sockets_are_all_closed(header_api):
    sockets = [_connect(header_api) for _ in range(200)]
    try:
        _wait_for(lambda: _established(header_api) >= 200, TIMEOUT)
        seconds = _wait_for(lambda: _established(header_api) == 0, TIMEOUT + MARGIN)
    finally:
        for sock in sockets:
            sock.close()

    assert seconds < TIMEOUT + MARGIN
