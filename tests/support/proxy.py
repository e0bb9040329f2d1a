"""A TCP forwarder a test can break, to cut one process off a server without touching the server or
any other process: `refuse()` turns new connections away while open ones carry on (what a failed
DNS lookup or a half-healed partition does to a client that connects now), `cut()` also drops the
open ones (a partition, a server crash as this client sees it), `heal()` lets everything through.
With `tls=` it also terminates TLS, standing in for an HTTPS server in front of a plain one."""

from __future__ import annotations

import socket
import ssl
import threading

from psycopg.conninfo import make_conninfo


class TcpProxy:
    """Listens on a free port of 127.0.0.1 and forwards each connection to `target`."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        """`tls`, a server context: clients then speak TLS to the proxy, which forwards in the clear."""
        self.target = (host, port)
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._accepting = True
        self._refuse_next = 0
        self._closed = False
        self.refused = 0  # connections turned away since the proxy started
        threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True).start()

    def url_for(self, url: str) -> str:
        """`url` (a Redis or Postgres URL, or a libpq conninfo string) pointed at this proxy."""
        host, port = self.target
        if f"{host}:{port}" in url:
            return url.replace(f"{host}:{port}", f"127.0.0.1:{self.port}")
        return make_conninfo(url, host="127.0.0.1", port=str(self.port))

    def refuse(self) -> None:
        """Close every new connection at once; open ones carry on."""
        self._accepting = False

    def cut(self) -> None:
        """Refuse new connections and drop every open one."""
        self.refuse()
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def refuse_next(self, count: int) -> None:
        """Close the next `count` new connections at once, then forward again (a flaky path)."""
        self._refuse_next = count

    def heal(self) -> None:
        """Forward new connections again."""
        self._accepting = True

    def close(self) -> None:
        """Stop listening and drop everything."""
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._accepting or self._refuse_next > 0:
                self._refuse_next = max(0, self._refuse_next - 1)
                self.refused += 1
                _close(client)
                continue
            if self._tls is not None:
                try:
                    client = self._tls.wrap_socket(client, server_side=True)
                except (ssl.SSLError, OSError):  # a client that does not trust our certificate
                    _close(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
