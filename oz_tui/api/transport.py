"""The httpx transport that sends over the connections opened at start-up first: the httpx side
of `oz_tui.head_start.Preconnect` (see there for what it buys), made by `Preconnect.transport()`.

Public APIs only. httpx's own transport takes no network backend (encode/httpx#3749 proposes
one), so this one does what `httpx.AsyncHTTPTransport` does for a direct connection: an
`httpcore.AsyncConnectionPool` (same limits, HTTP/1.1, keep-alive), requests and answers mapped
between httpx and httpcore, httpcore's exceptions raised as the same httpx ones. The pool's
network backend (httpcore's documented extension point) hands out each early socket once, as an
AnyIO `SocketStream`, then connects through httpcore's own `AnyIOBackend`.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.abc
import anyio.streams.tls
import httpcore
import httpx

from oz_tui.head_start import Preconnect, close_when_open

#: httpx's default limits (those of `httpx.AsyncClient()`'s own transport).
MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20
KEEPALIVE_EXPIRY = 5.0

ErrorMap = dict[type[BaseException], type[Exception]]

#: As httpx maps them (the most specific match wins).
_HTTPX_ERRORS: ErrorMap = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}

# As httpcore's own AnyIO stream reports them, so an early connection fails like any other.
_READ_ERRORS: ErrorMap = {
    TimeoutError: httpcore.ReadTimeout,
    anyio.BrokenResourceError: httpcore.ReadError,
    anyio.ClosedResourceError: httpcore.ReadError,
    anyio.EndOfStream: httpcore.ReadError,
}
_WRITE_ERRORS: ErrorMap = {
    TimeoutError: httpcore.WriteTimeout,
    anyio.BrokenResourceError: httpcore.WriteError,
    anyio.ClosedResourceError: httpcore.WriteError,
}
_TLS_ERRORS: ErrorMap = {
    TimeoutError: httpcore.ConnectTimeout,
    anyio.BrokenResourceError: httpcore.ConnectError,
    anyio.EndOfStream: httpcore.ConnectError,
    ssl.SSLError: httpcore.ConnectError,
}


@contextmanager
def _raised_as(errors: ErrorMap) -> Iterator[None]:
    """Re-raise an exception as the entry of `errors` for its most specific class, if any."""
    try:
        yield
    except Exception as exc:
        mapped = next((errors[kind] for kind in type(exc).__mro__ if kind in errors), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class PreconnectedTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncHTTPTransport()`'s direct connections, the early ones first."""

    def __init__(self, preconnect: Preconnect) -> None:
        self._preconnect = preconnect
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=preconnect.ssl_context(),
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            network_backend=PreconnectedBackend(preconnect),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            # `timeout` (connect, read, write, pool) and `trace`, which httpcore reads.
            extensions=request.extensions,
        )
        with _raised_as(_HTTPX_ERRORS):
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)  # the async pool's are
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
        self._preconnect.close()  # the early connections nobody took


class _ResponseStream(httpx.AsyncByteStream):
    """httpcore's answer body, its failures raised as httpx's."""

    def __init__(self, body: AsyncIterable[bytes]) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _raised_as(_HTTPX_ERRORS):
            async for part in self._body:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._body, "aclose", None)
        if close is not None:
            await close()


class PreconnectedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's AnyIO backend, except that a connection to the preconnected host is the early
    one while there is one left. An early connect that failed is made again the usual way, so
    it is reported as always (same errors, same messages)."""

    def __init__(self, preconnect: Preconnect) -> None:
        self._preconnect = preconnect
        self._usual = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        early = self._preconnect.take(host, port) if local_address is None else None
        if early is not None:
            try:
                sock = await asyncio.wait_for(asyncio.wrap_future(early), timeout)
            except BaseException as exc:
                # Not open in time, or the wait was cancelled: whenever it opens, it is closed.
                close_when_open(early)
                if not isinstance(exc, OSError):  # OSError includes TimeoutError
                    raise
            else:
                stream = await _socket_stream(sock, socket_options)
                if stream is not None:
                    return stream
        return await self._usual.connect_tcp(host, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._usual.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._usual.sleep(seconds)


async def _socket_stream(
    sock: socket.socket, socket_options: Iterable[httpcore.SOCKET_OPTION] | None
) -> _NetworkStream | None:
    """The early socket as a stream (asyncio sets it non-blocking, with TCP_NODELAY, as on its
    own connections); None when it is no longer usable: the server hung up since (a request
    sent on it would fail, and a create's outcome would be unknown)."""
    if _readable(sock):  # before any request, only the end of the connection can be waiting
        sock.close()
        return None
    try:
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _NetworkStream(await anyio.abc.SocketStream.from_socket(sock))
    except (OSError, ValueError):  # ValueError: no longer connected
        sock.close()
        return None


#: What httpcore (and the `network_stream` extension) may ask a stream about.
_EXTRA_INFO = {
    "ssl_object": anyio.streams.tls.TLSAttribute.ssl_object,
    "client_addr": anyio.abc.SocketAttribute.local_address,
    "server_addr": anyio.abc.SocketAttribute.remote_address,
    "socket": anyio.abc.SocketAttribute.raw_socket,
}


class _NetworkStream(httpcore.AsyncNetworkStream):
    """An AnyIO byte stream (a socket, or TLS over one) as httpcore's network stream: reads,
    writes, TLS, timeouts and failures as on httpcore's own AnyIO stream."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _raised_as(_READ_ERRORS), anyio.fail_after(timeout):
            try:
                return await self._stream.receive(max_bytes=max_bytes)
            except anyio.EndOfStream:
                return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _raised_as(_WRITE_ERRORS), anyio.fail_after(timeout):
            await self._stream.send(buffer)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with _raised_as(_TLS_ERRORS), anyio.fail_after(timeout):
                tls = await anyio.streams.tls.TLSStream.wrap(
                    self._stream,
                    server_side=False,
                    hostname=server_hostname,
                    ssl_context=ssl_context,
                    # No close_notify exchange on closing, as httpcore's own streams.
                    standard_compatible=False,
                )
        except BaseException:
            await self.aclose()
            raise
        return _NetworkStream(tls)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._stream.extra(anyio.abc.SocketAttribute.raw_socket, None))
        attribute = _EXTRA_INFO.get(info)
        return None if attribute is None else self._stream.extra(attribute, None)


def _readable(sock: socket.socket | None) -> bool:
    """Whether an idle connection has something to read, without reading: the server closed it
    (or broke protocol), so the pool drops it rather than send a request on it. A socket that is
    gone counts as readable, as its next read would be the end."""
    if sock is None or sock.fileno() < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))
