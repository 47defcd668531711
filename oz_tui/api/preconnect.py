"""Connections to the server opened at start-up, while the rest of oz-keys is still loading.

Over a far link one round trip (DNS, then TCP's handshake) costs as much as oz-keys' whole
start-up; opening the connections in threads as soon as the server is known overlaps the two.
For https, the TLS context (loading the CA bundle: tens of ms) is made in a thread too. The client
takes the sockets through `transport.PreconnectedTransport`, whose network backend hands each out
once, then connects as usual; an early connect that failed is simply made again the usual way,
which reports the failure as always (same errors, same messages).

Light at import (no httpx): the CLI starts it before loading the client.
"""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    import ssl

T = TypeVar("T")

#: Proxy settings httpx honours: with one set, connections go through the proxy, not straight.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _in_thread(work: Callable[[], T]) -> Future[T]:
    future: Future[T] = Future()

    def run() -> None:
        # Running from now on, the future cannot be cancelled: an impatient waiter (asyncio's
        # `wait_for` cancels what it waits for) would otherwise make `set_result` fail here.
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the result
            future.set_exception(exc)

    threading.Thread(target=run, name="oz-keys-preconnect", daemon=True).start()
    return future


class Preconnect:
    """`count` TCP connections to `server_root`'s host, opening in threads from now on; and,
    for https, the TLS context. `None` from `start` when there is nothing to gain or it would be
    wrong: an address that doesn't parse, or a proxy configured in the environment."""

    def __init__(self, host: str, port: int, *, tls: bool, count: int, timeout: float) -> None:
        self.host, self.port = host, port
        self._sockets = [
            _in_thread(lambda: socket.create_connection((host, port), timeout=timeout))
            for _ in range(count)
        ]
        self._lock = threading.Lock()
        self._tls: Future[ssl.SSLContext] | None = (
            _in_thread(_verifying_context) if tls else None
        )

    @classmethod
    def start(
        cls, server_root: str, *, count: int = 1, timeout: float = 5.0
    ) -> Preconnect | None:
        from urllib.parse import urlsplit

        if any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES):
            return None
        try:
            parts = urlsplit(server_root)
            host, port = parts.hostname, parts.port
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not host:
            return None
        default_port = 443 if parts.scheme == "https" else 80
        return cls(host, port or default_port, tls=parts.scheme == "https", count=count,
                   timeout=timeout)

    def ssl_context(self) -> ssl.SSLContext:
        """What the client verifies servers with: for https, the usual (httpx's own default,
        made ahead); for plain http, a context that verifies against nothing, never used."""
        import ssl

        if self._tls is None:
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return self._tls.result()

    def take(self, host: str, port: int) -> Future[socket.socket] | None:
        """The next early connection to host:port, once; None when there is none (left)."""
        if (host.lower(), port) != (self.host.lower(), self.port):
            return None
        with self._lock:
            return self._sockets.pop(0) if self._sockets else None

    def close(self) -> None:
        """Close the connections nobody took (once they are open)."""
        with self._lock:
            left, self._sockets = self._sockets, []
        for future in left:
            close_when_open(future)


def close_when_open(future: Future[socket.socket]) -> None:
    """Close the early connection once it is open (at once if it is): nobody will use it."""
    future.add_done_callback(_close_socket)


def _verifying_context() -> ssl.SSLContext:
    import httpx

    return httpx.create_ssl_context()


def _close_socket(future: Future[socket.socket]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()
