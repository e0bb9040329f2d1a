"""uvicorn's HTTP protocol with a header timeout, so slowloris clients cannot hold sockets open.

uvicorn arms no timer while a request line and headers trickle in: its keep-alive timer is cancelled
by the first byte, so a client sending one header byte every few seconds keeps a socket (and its
buffers) forever. These subclasses arm a timer when a connection opens and after each response,
cancel it once a request's headers are complete, and close the transport when `HEADER_TIMEOUT_SECONDS`
elapses first. The body has its own idle timeout in `front_door`.

Start uvicorn with `--http sequoia_api.http_protocol:HttpToolsProtocol` (what `auto` would pick,
as uvicorn[standard] installs httptools) or `...:H11Protocol`.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http import h11_impl, httptools_impl

from sequoia_core.settings import get_settings

log = logging.getLogger(__name__)


class _HeaderDeadline:
    """Mixin over a uvicorn HTTP protocol: close the connection when headers take too long."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            delay = get_settings().header_timeout_seconds
            self._header_timer = self.loop.call_later(delay, self._headers_timed_out)  # type: ignore[attr-defined]

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        log.info("closing %s: request headers not complete within %ss", self.client,  # type: ignore[attr-defined]
                 get_settings().header_timeout_seconds)
        self.transport.close()  # type: ignore[attr-defined]


class HttpToolsProtocol(_HeaderDeadline, httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol with the header timeout."""

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline:  # a pipelined request already has its headers
            self._arm_header_timer()


class H11Protocol(_HeaderDeadline, h11_impl.H11Protocol):
    """uvicorn's h11 protocol with the header timeout."""

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11_impl.h11.IDLE:  # h11 leaves IDLE once a request's headers parsed
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11_impl.h11.IDLE:
            self._arm_header_timer()
