"""Serving the local key service on a socket: the address check, TLS, Hypercorn, the signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from oz_tui.core.errors import OzError
from oz_tui.core.models import Clock, system_clock
from oz_tui.local.guard import Guard, HostAllowList
from oz_tui.local.limits import ServerLimits
from oz_tui.local.service import LocalService

__all__ = ["SERVER_LIMITS", "ServeRefused", "TLSFiles", "serve"]

log = logging.getLogger(__name__)

#: What `serve` gives Hypercorn (a module attribute, so a test can shorten the deadlines).
SERVER_LIMITS = ServerLimits()


class ServeRefused(OzError):
    """`serve` was asked for something unsafe or impossible: a usage error (exit 2)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class TLSFiles:
    cert: Path
    key: Path


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    data_dir: Path | None = None,
    *,
    clock: Clock = system_clock,
    on_ready: Callable[[str], None] | None = None,
    tls: TLSFiles | None = None,
    insecure_remote: bool = False,
    introspection: bool = False,
) -> None:
    """Serve the key API on host:port until SIGINT or SIGTERM; every request needs a key.

    An address reachable from other machines needs `tls` (or `insecure_remote`: keys then cross
    the network readable). `on_ready(url)` is called once the store is open and the socket is
    listening (so connections are queued from then on), just before requests are served; `url`
    is one a client can use, with the real port (which matters for `port=0`). Nothing is called
    when the store cannot be opened, the port is busy or the address is refused: those raise
    `OzError` instead.

    The server is Hypercorn, not uvicorn: uvicorn (0.34-0.54) has no deadline for a request's
    headers, so a client that connects and stalls holds its connection for ever, and its only
    concurrency limit counts connections, so stalled ones make it answer 503 to good clients.
    Hypercorn closes a connection that has not sent its headers within
    `ServerLimits.header_timeout`; the guard bounds bodies, their arrival time, the requests in
    progress and the refusals of requests without a valid key (`oz_tui.local.limits`).
    """
    family, address = _resolve(host, port)
    loopback = _is_loopback_address(address)
    if not loopback and tls is None and not insecure_remote:
        raise ServeRefused(
            f"refusing to serve API keys over plain HTTP on {host}, which other machines can "
            "reach; pass --tls-cert and --tls-key, or --insecure-remote"
        )
    if tls is not None:
        _check_tls(tls)
    service = LocalService(
        data_dir, clock=clock, require_auth=True, introspection=introspection, public_errors=True
    )
    try:
        sock = _listen(family, address, port)
        with sock:
            if not loopback:
                log.warning("serving API keys on %s, reachable beyond this machine%s", host,
                            "" if tls else ", without TLS")
            hosts, url = _addressing(host, sock, https=tls is not None)
            app = service.guarded(hosts)
            _run_hypercorn(app, sock, tls, lambda: on_ready(url) if on_ready else None)
    finally:
        service.close()


def _check_tls(tls: TLSFiles) -> None:
    """Load the certificate and key now, so a bad file is one line before anything listens."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ServeRefused(
            f"cannot use the TLS certificate {tls.cert} with the key {tls.key}: {reason}"
        ) from None


def _run_hypercorn(app: Guard, sock: socket.socket, tls: TLSFiles | None, ready: Callable[[], None]) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    # Hypercorn makes (and closes) its own socket object on a copy of the descriptor; ours is
    # closed by `serve`.
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    limits = SERVER_LIMITS
    config.keep_alive_timeout = limits.header_timeout
    config.ssl_handshake_timeout = limits.header_timeout
    config.read_timeout = limits.read_timeout
    config.h11_max_incomplete_size = limits.max_header_bytes
    config.max_app_queue_size = limits.max_body_messages
    # asyncio listens again on the given socket with this backlog.
    config.backlog = limits.backlog
    config.graceful_timeout = limits.graceful_timeout
    config.include_server_header = False
    config.accesslog = None  # request lines are not needed, and keep nothing sensitive out
    config.errorlog = log
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert), str(tls.key)

    async def main() -> None:
        stop = asyncio.Event()

        async def stopping() -> None:
            await stop.wait()
            app.stop_waiting()  # before Hypercorn's graceful wait for the requests in progress

        with _stop_on_signals(stop):
            ready()
            await hypercorn_serve(app, config, shutdown_trigger=stopping, mode="asgi")

    asyncio.run(main())


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """The family and address `host` names (the first, as a server binds to)."""
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise OzError(f"cannot listen on {host}:{port}: {reason}") from None
    return family, str(sockaddr[0])


def _listen(family: socket.AddressFamily, address: str, port: int) -> socket.socket:
    try:
        return socket.create_server((address, port), family=family)
    except OSError as exc:
        raise OzError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None


def _addressing(host: str, sock: socket.socket, *, https: bool) -> tuple[HostAllowList, str]:
    """The Host headers to answer to, and a URL a client can use, for a bound socket."""
    import ipaddress

    address, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(address)
    names = {address.lower()}
    wildcard = ip.is_unspecified
    try:
        ipaddress.ip_address(host.strip("[]"))
        given_name = None
    except ValueError:
        given_name = host.lower()  # a name the user chose, like localhost or a LAN name
        names.add(given_name)
    if ip.is_loopback or wildcard:
        names.add("localhost")
    if wildcard:
        names.update({socket.gethostname().lower(), socket.getfqdn().lower()})
        url_host = socket.getfqdn() or socket.gethostname()
    else:
        url_host = given_name or _url_host(address)
    scheme = "https" if https else "http"
    hosts = HostAllowList(names, any_ip=wildcard)
    return hosts, f"{scheme}://{url_host}:{port}"


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _is_loopback_address(address: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(address.split("%")[0]).is_loopback


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Let SIGINT/SIGTERM stop the server and then let `serve` return normally."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    stopped = (signal.SIGINT, signal.SIGTERM)
    for sig in stopped:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in stopped:
            loop.remove_signal_handler(sig)
