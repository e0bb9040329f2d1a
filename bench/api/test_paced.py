"""bench/api's wrk script holds a constant rate, spreads requests evenly, and reports a rate it
could not hold as late starts (the bench's verdicts rest on both). Wall-clock checks, so they run
with the bench (`make bench-api`), not in `make test`."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.api.run import PACED_LUA


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0
    arrivals: list[float] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.arrivals.append(time.monotonic())
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"arrivals": [], "delay": 0.0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()


def _wrk(url: str, rate: int, connections: int, seconds: int = 2) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(PACED_LUA), url, "--",
                          str(rate)], check=True, capture_output=True, text=True, timeout=30).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_holds_the_rate_with_evenly_spaced_requests(server):
    url, handler = server
    stats = _wrk(url, rate=50, connections=8)
    assert stats["late"] == 0 and stats["http_errors"] == 0 and stats["socket_errors"] == 0
    assert 95 <= stats["requests"] <= 102  # 50 req/s for 2 s
    gaps = [b - a for a, b in zip(handler.arrivals, handler.arrivals[1:])]
    # Spread evenly (every 20 ms), not in bursts: no two requests arrive together.
    assert min(gaps) > 0.010
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.020, abs=0.004)


def test_counts_late_starts_when_the_server_cannot_keep_up(server):
    url, handler = server
    handler.delay = 0.1  # two connections at 100 ms each: at most 20 req/s of the 100 asked
    stats = _wrk(url, rate=100, connections=2)
    assert stats["requests"] <= 45
    assert stats["late"] > 0
