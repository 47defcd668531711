"""The HTTP checks in front of every route of the local key service: an ASGI layer.

Before the app sees a request, and in this order: the Host is one the service answers to (DNS
rebinding), a public path carries no body (it needs no credential, so it reads none), a request
with a body says it is `application/json` (a web page's "simple" cross-site POST is not) and is
not larger than the cap by its Content-Length, the credential is good (checked before a byte of
the body is read), there is a free slot (a concurrency limit), and the body arrives within the
cap and a deadline. A request that has not shown a valid credential never takes a slot: its
refusal comes out of its own budget (`Refusals`), so however many such clients there are, they
cannot hold the capacity authenticated requests need. A route then finds the authenticated key
with `principal_of(request)`. Anything the app raises becomes a 500 with a JSON problem and one
log line (no traceback, no local path). Refusals are RFC 7807 problems, shaped like Warp's REST
errors. Every limit is in `oz_tui.local.limits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from oz_tui.local.limits import Limits

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: `authenticate(authorization, wait)`: raises `Unauthorized` for a missing or bad credential,
#: `Unavailable` when the store is down; returns the principal (whatever the service uses; None
#: for the in-process owner). Called first in the event loop with `wait` False, where it raises
#: `WouldWait` rather than wait for anything; then again in a worker thread with `wait` True.
Authenticate = Callable[[str | None, bool], object]

#: The scope key a route reads the authenticated principal from.
PRINCIPAL = "oz_keys.principal"
AUTH_DETAIL = "API key missing, revoked, expired or malformed"


class Unauthorized(Exception):
    """The request has no usable credential."""


class WouldWait(Exception):
    """The credential check would have to wait (the store is in use): it goes to a thread."""


class Unavailable(Exception):
    """The service cannot answer now; `str()` is a message safe to send (no local paths)."""


def problem_body(status: int, title: str, detail: str) -> dict[str, Any]:
    """An RFC 7807 problem, shaped like Warp's REST errors."""
    return {"type": f"urn:oz-keys:problem:{title}", "title": title, "status": status, "detail": detail}


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    rest: bool = False,
) -> None:
    """A refusal: an RFC 7807 problem, or for a REST route Warp's `{"error": detail}`."""
    if rest:
        body, media_type = json.dumps({"error": detail}).encode(), b"application/json"
    else:
        body = json.dumps(problem_body(status, title, detail)).encode()
        media_type = b"application/problem+json"
    raw_headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def principal_of(request: Any) -> object:
    """The principal the guard authenticated `request` (a Starlette request) as."""
    return request.scope.get(PRINCIPAL)


class Refusals:
    """The budget of requests that have not shown a valid credential: their refusals.

    `burst` are answered at once, then `per_second`; each refusal past that waits its turn, a
    sleeping task (no thread, no slot, no body read), so a client that asks again as soon as it
    is refused, as a flood does, is slowed to the budget's pace. Turns are handed out in order,
    each waiter woken once. A turn further off than `max_wait` is not waited for: that refusal
    is answered at once, so at most burst + per_second × max_wait connections wait. When the
    server stops, every waiter is answered at once (`release`), within its graceful shutdown.
    """

    def __init__(self, limits: Limits) -> None:
        self.interval = 1 / limits.unauthenticated_per_second
        #: How far behind now the next turn may be: `burst` turns are then free at once.
        self.credit = max(0, limits.unauthenticated_burst - 1) * self.interval
        self.max_wait = limits.unauthenticated_max_wait
        self._next = 0.0
        self._released = asyncio.Event()

    def delay(self) -> float:
        """Seconds the next refusal waits for its turn (0 within the burst or past max_wait)."""
        now = time.monotonic()
        turn = max(self._next, now - self.credit)
        if turn - now > self.max_wait:
            return 0.0
        self._next = turn + self.interval
        return max(0.0, turn - now)

    async def wait_turn(self) -> None:
        delay = self.delay()
        if delay and not self._released.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), delay)

    def release(self) -> None:
        self._released.set()


class HostAllowList:
    """The Host headers a service bound to one address answers to.

    A web page can make a browser send requests to 127.0.0.1 under a name the page's owner
    controls (DNS rebinding); such requests carry that name in Host and are refused. IP
    literals cannot be rebound, so on a wildcard address every literal is fine. The port is not
    checked: an SSH tunnel (`ssh -L 9000:localhost:8787`) or a TCP proxy brings requests in
    under another port, and a rebound name is refused whatever its port.
    """

    def __init__(self, names: Collection[str], *, any_ip: bool) -> None:
        self.names = frozenset(name.lower() for name in names)
        self.any_ip = any_ip

    def allows(self, host_header: str) -> bool:
        host, _port = _split_host(host_header)
        if host is None:
            return False
        if host in self.names:
            return True
        if self.any_ip:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return False
            return True
        return False


def _split_host(value: str) -> tuple[str | None, int | None]:
    """("name-or-ip", port or None) from a Host header; (None, None) when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None, None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None, None
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text = value.partition(":")
        if not sep:
            port_text = None
    if not host:
        return None, None
    if port_text is None:
        return host, None
    if not port_text.isdigit() or len(port_text) > 5:
        return None, None
    return host, int(port_text)


class Guard:
    """The ASGI layer; `public_paths` (health checks) need no credential."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Authenticate,
        hosts: HostAllowList | None = None,
        limits: Limits = Limits(),
        public_paths: Collection[str] = ("/", "/health"),
        rest_paths: Collection[str] = (),
        log_crashes: bool = True,
    ) -> None:
        self.app = app
        #: In process the caller reports the 500 on its own one line; a server logs it.
        self.log_crashes = log_crashes
        self.authenticate = authenticate
        self.hosts = hosts
        self.limits = limits
        self.public_paths = frozenset(public_paths)
        #: Routes that speak Warp's REST dialect: their refusals are `{"error": …}`.
        self.rest_paths = frozenset(rest_paths)
        #: Requests holding a slot: authenticated ones, and public paths without a body.
        self.in_progress = 0
        self.refusals = Refusals(limits)
        self._work_slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # websockets: not served
        rest = scope["path"] in self.rest_paths
        headers = _headers(scope)
        has_body = scope["method"] not in ("GET", "HEAD", "OPTIONS") or _declares_body(headers)
        # A refusal before the body is read ends the connection: the unread body is still on it.
        unread = {"Connection": "close"} if has_body else {}
        reply = _discarding_body(send, receive, self.limits) if has_body else send

        async def refuse(status: int, title: str, detail: str, extra: dict[str, str]) -> None:
            # Nobody has shown a credential yet: the refusal comes out of their budget.
            await self.refusals.wait_turn()
            await send_problem(reply, status, title, detail, {**extra, **unread}, rest=rest)

        if self.hosts is not None and not self.hosts.allows(headers.get("host", "")):
            await refuse(
                421, "misdirected_request",
                "This service does not answer to that Host; use the address it was started on.",
                {},
            )
            return
        public = scope["path"] in self.public_paths
        if has_body and public:
            # No credential is needed here, so no byte of a body is read.
            await refuse(413, "payload_too_large", "This path takes no request body.", {})
            return
        if has_body:
            refusal = self._check_body_headers(headers)
            if refusal is not None:
                await refuse(*refusal, {})
                return
        if not public:
            authorization = headers.get("authorization")
            try:
                try:
                    # One indexed read, in the loop when the store is free: a thread hop costs
                    # a good key most of its time when the machine is busy.
                    scope[PRINCIPAL] = self.authenticate(authorization, False)
                except WouldWait:
                    scope[PRINCIPAL] = await asyncio.to_thread(
                        self.authenticate, authorization, True
                    )
            except Unauthorized:
                await refuse(
                    401, "authentication_required", AUTH_DETAIL, {"WWW-Authenticate": "Bearer"}
                )
                return
            except Unavailable as exc:
                await send_problem(
                    reply, 503, "store_unavailable", str(exc), {"Retry-After": "1", **unread},
                    rest=rest,
                )
                return
        if self.in_progress >= self.limits.max_concurrent:
            await _send_busy(reply)
            return
        self.in_progress += 1
        try:
            await self._serve(scope, receive, send, has_body)
        finally:
            self.in_progress -= 1

    def stop_waiting(self) -> None:
        """The server is stopping: answer the refusals waiting for their turn now."""
        self.refusals.release()

    async def _serve(self, scope: Scope, receive: Receive, send: Send, has_body: bool) -> None:
        if has_body:
            body = await self._read_body(receive, _discarding_body(send, receive, self.limits))
            if body is None:
                return
            receive = _replay(body, receive)
        if self._work_slots is None:  # made in the serving loop
            self._work_slots = asyncio.Semaphore(self.limits.max_working)
        async with self._work_slots:
            await self._call_app(scope, receive, send)

    def _check_body_headers(self, headers: dict[str, str]) -> tuple[int, str, str] | None:
        media_type, _, params = headers.get("content-type", "").partition(";")
        charset = _param(params, "charset")
        if media_type.strip().lower() != "application/json" or charset not in (None, "utf-8"):
            return (415, "unsupported_media_type", "Send the request body as application/json.")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limits.max_body_bytes):
            return (413, "payload_too_large", self._too_large)
        return None

    @property
    def _too_large(self) -> str:
        return f"The request body is larger than {self.limits.max_body_bytes // 1024} KB."

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The body, or None after answering (too large, too slow, or the client left)."""
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.limits.body_timeout
        while True:
            try:
                async with asyncio.timeout_at(_loop_deadline(deadline)):
                    message = await receive()
            except TimeoutError:
                await send_problem(
                    send, 408, "request_timeout",
                    f"The request body did not arrive within {self.limits.body_timeout:g} s.",
                    {"Connection": "close"},
                )
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                # Stop reading here: the rest of a chunked body is never taken in.
                await send_problem(
                    send, 413, "payload_too_large", self._too_large, {"Connection": "close"}
                )
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _call_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:  # noqa: BLE001 - the client gets a JSON 500, the log one line
            if self.log_crashes:
                log.warning("local key service: %s on %s", type(exc).__name__, scope.get("path"))
            if not started:
                await send_problem(
                    send, 500, "internal_error", "internal error in the local key service"
                )


async def _send_busy(send: Send) -> None:
    await send_problem(
        send, 503, "busy", "Too many requests in progress; retry shortly.",
        {"Retry-After": "1", "Connection": "close"},
    )


def _discarding_body(send: Send, receive: Receive, limits: Limits) -> Send:
    """`send` for an answer to a request whose body is not read (or not all of it).

    The server stops reading a connection once its queue for the app is full
    (`ServerLimits.max_body_messages`), and when the connection ends (the answer's last message,
    or the client leaving while its refusal waited) it puts the end of the stream in that queue:
    if nobody takes from it, the connection's task waits for ever. So from the last message until
    that end arrives (at once; `Limits.end_of_stream_wait` at most), what the server read is let
    go of.
    """

    async def discard() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def send_discarding(message: Message) -> None:
        if message["type"] != "http.response.body" or message.get("more_body", False):
            await send(message)
            return
        discarding = asyncio.ensure_future(discard())
        try:
            await send(message)
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(discarding, limits.end_of_stream_wait)

    return send_discarding


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; a repeated header keeps its first value."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _declares_body(headers: dict[str, str]) -> bool:
    return "transfer-encoding" in headers or headers.get("content-length", "0") != "0"


def _param(params: str, name: str) -> str | None:
    for item in params.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def _loop_deadline(monotonic_deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the already-read body once, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
