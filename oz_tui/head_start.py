"""The head start: what oz-keys does only to be fast from the moment it is started.

Nothing here changes what a command or the panel does, answers or says; each piece only moves
work earlier or out of the way. Each stays because `tests/benchmarks/bench.py`, run with and
without it side by side (`--compare`), showed what it buys (2 CPUs; docs/performance.md):

- **Early connections** (`Preconnect`, and `oz_tui.api.transport`, the httpx transport that
  sends over them first): the TCP handshake (and, for https, loading the CA bundle) runs in
  threads while the rest of oz-keys imports, instead of after. `oz-keys list` over a 200 ms
  link: one round trip less, about 200 ms (2.26× curl with them, 2.78× without).
- **The remote session** (`RemoteSession`): a server's client is built, and the panel's opening
  requests sent, on an event loop in a thread before Textual loads, so they travel while Textual
  starts. Over a 200 ms link the keys are painted about 1.8 round trips sooner (+1.97 round
  trips after a bare app's first frame with it, +3.81 without, on a loaded machine).
- **The deferred local backend** (`DeferredBackend`): the local store opens in the panel's
  first request, its keys in the first frame, and a store that cannot be opened is shown on the
  page with a retry rather than ending the program.
- **Commands without an event loop** (`run_inline`, `running_loop`): a command on the local
  store never waits, and importing asyncio alone costs more than the command (`list --local`:
  3.0× `python -c pass` without asyncio, 3.9× with it, loaded machine; the goal is 3.5×).

The seam: the ordinary path is `backend.for_command` / `backend.for_panel` building a `Backend`
whose `OzClient` takes a `transport`; this module hands it `Preconnect.transport()` and wraps the
build in a session (the panel) or runs the command inline (the local store). Light at import
(no httpx, no asyncio): the CLI starts it before loading either.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Protocol, TypeVar

# Sockets and threads are imported where they are used: a command on the local store imports
# this module for `run_inline` and opens neither.
if TYPE_CHECKING:
    import asyncio
    import socket
    import ssl
    from concurrent.futures import Future
    from datetime import datetime
    from types import ModuleType

    import httpx

    from oz_tui.core.models import Account, Agent, ApiKey, CreatedKey, Expiration
    from oz_tui.backend import Backend, KeyService
    from oz_tui.local import KeyStore, LocalService

T = TypeVar("T")


# -- early connections ---------------------------------------------------------------------------

#: Proxy settings httpx honours: with one set, connections go through the proxy, not straight.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _in_thread(work: Callable[[], T]) -> Future[T]:
    import threading
    from concurrent.futures import Future

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
        import socket
        import threading

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

    def transport(self) -> httpx.AsyncBaseTransport:
        """The client's transport over these connections first (`OzClient(transport=...)`, the
        one seam); closing it closes the connections nobody took."""
        from oz_tui.api.transport import PreconnectedTransport

        return PreconnectedTransport(self)

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


# -- the panel's backend, built later or on another loop -----------------------------------------


class DeferredBackend:
    """The local store's backend, built by the panel's first request, which then goes through.

    The panel opens with this stand-in (its `source` known in advance for the status line). The
    store is light (SQLite, in process): built in the first request, its keys are in the first
    frame. A store that cannot be opened fails that request, and the page shows the error with
    a retry (which tries again).
    """

    def __init__(self, build: Callable[[], Backend], *, source: str, is_local: bool) -> None:
        self._build = build
        self._backend: Backend | None = None
        self._source = source
        self.is_local = is_local
        self.client: KeyService = _StandInClient(self)

    @property
    def source(self) -> str:
        return self._backend.source if self._backend is not None else self._source

    @property
    def service(self) -> LocalService | None:
        return self._backend.service if self._backend is not None else None

    @property
    def store(self) -> KeyStore | None:
        return self._backend.store if self._backend is not None else None

    @property
    def built(self) -> Backend | None:
        """The backend, if it has been built (never builds it)."""
        return self._backend

    def build_now(self) -> Backend:
        """The backend, built here and now if it isn't yet (blocking)."""
        if self._backend is None:
            self._backend = self._build()
        return self._backend

    async def get(self) -> Backend:
        return self.build_now()

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """`backend.client.<name>(...)`, the backend built first if it isn't yet."""
        return await getattr((await self.get()).client, name)(*args, **kwargs)

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()


#: How long the session gives its opening requests to get onto the wire before the panel starts.
OPENING_GRACE = 0.05


class RemoteSession:
    """A server's backend on its own event loop, in a thread started before Textual loads.

    Over a far link the first keys cost round trips, not CPU: so the client (httpx) is built in
    this thread before Textual loads (`wait_opened`), and the panel's opening requests
    (`opening`: the list, who-am-I and the agents, together) go out while Textual loads. The
    panel's calls (`client`, a `KeyService`) run on this loop, through one connection pool, and
    their answers (or errors) come back to the panel's loop; the first call of each opening
    request takes the answer already on its way. Cancelling a call cancels it here too.
    """

    def __init__(
        self,
        build: Callable[[], Backend],
        *,
        source: str,
        opening: tuple[str, ...] = ("list_keys", "whoami", "list_agents"),
    ) -> None:
        import asyncio
        import threading

        self._source = source
        self.is_local = False
        self.service: LocalService | None = None
        self.store: KeyStore | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="oz-keys-session", daemon=True
        )
        self._thread.start()
        self._opening: dict[str, Any] = {}
        self._backend = asyncio.run_coroutine_threadsafe(self._open(build, opening), self._loop)
        self._closed = False
        self.client: KeyService = _StandInClient(self)

    async def _open(self, build: Callable[[], Backend], opening: tuple[str, ...]) -> Backend:
        import asyncio

        backend = build()
        for name in opening:
            task = asyncio.ensure_future(getattr(backend.client, name)())
            # Retrieved by the panel, or by `aclose`; never "exception was never retrieved".
            task.add_done_callback(_retrieved)
            self._opening[name] = task
        # A few turns of this loop before the session counts as open (`wait_opened`): on
        # connections already open the requests reach the wire now, not in slices between
        # Textual's start-up work; a connection still opening is not waited for.
        await asyncio.wait(self._opening.values(), timeout=OPENING_GRACE)
        return backend

    @property
    def source(self) -> str:
        return self._source

    def wait_opened(self, timeout: float = 10.0) -> None:
        """Block until the client is built and the opening requests are started (not answered),
        with up to `OPENING_GRACE` for them to reach the wire.

        Called before Textual loads: the client's imports then run alone, not slice by slice
        against Textual's for the interpreter lock, and the opening requests go out while
        Textual loads rather than after the first frame. A failed build is not raised here:
        the panel's first call reports it."""
        import concurrent.futures

        concurrent.futures.wait([self._backend], timeout=timeout)

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """`backend.client.<name>(...)` on the session's loop; the opening answer when there is
        one not yet taken (same arguments: the opening calls take none)."""
        import asyncio

        async def run() -> Any:
            backend = await asyncio.wrap_future(self._backend)
            opened = self._opening.pop(name, None) if not (args or kwargs) else None
            if opened is not None:
                return await opened
            return await getattr(backend.client, name)(*args, **kwargs)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), self._loop))

    def build_now(self) -> Backend:
        return self._backend.result()

    @property
    def built(self) -> Backend | None:
        """The backend, if it has been built (never waits for it)."""
        future = self._backend
        return future.result() if future.done() and future.exception() is None else None

    async def aclose(self) -> None:
        """Close the client (its connections) on the session's loop, then stop the loop."""
        import asyncio

        if self._closed:
            return
        self._closed = True

        async def close() -> None:
            for task in self._opening.values():
                task.cancel()
            try:
                backend = await asyncio.wrap_future(self._backend)
            except Exception:  # noqa: BLE001 - nothing was built, nothing to close
                return
            await backend.aclose()

        try:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(close(), self._loop))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            if not self._thread.is_alive():
                self._loop.close()


def _retrieved(task: Any) -> None:
    if not task.cancelled():
        task.exception()


class _Owner(Protocol):
    """What a stand-in client needs of the backend it stands in for."""

    @property
    def built(self) -> Backend | None: ...

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...


class _StandInClient:
    """The `client` of a backend built later (`DeferredBackend`) or on another loop
    (`RemoteSession`): the panel's calls (`KeyService`), each made through the owner on the
    real client."""

    def __init__(self, owner: _Owner) -> None:
        self._owner = owner

    async def list_keys(self) -> list[ApiKey]:
        return await self._owner.call("list_keys")

    async def whoami(self) -> Account:
        return await self._owner.call("whoami")

    async def list_agents(self) -> list[Agent]:
        return await self._owner.call("list_agents")

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey:
        # (agent_uid only when set: a client without Agent keys takes no such argument.)
        extra = {"agent_uid": agent_uid} if agent_uid is not None else {}
        return await self._owner.call("create_key", name, expiration, team_id=team_id, **extra)

    async def expire_key(self, uid: str) -> None:
        await self._owner.call("expire_key", uid)

    def is_credential(self, key: ApiKey) -> bool:
        # Keys are listed only by a built backend, so one that isn't built yet signs in with none.
        backend = self._owner.built
        return backend is not None and backend.client.is_credential(key)


# -- commands without an event loop --------------------------------------------------------------


def run_inline(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command that never waits to its end, without an event loop.

    A command on the in-process store (its client `blocking`) awaits only coroutines that finish
    at once; asyncio's import alone would cost more than the whole command. A coroutine that
    does wait for something is a bug here, and says so.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError(f"{coroutine.__qualname__} waited for something; it needs an event loop")


def loaded_asyncio() -> ModuleType | None:
    """asyncio if something has imported it, else None: the one place that asks, so that code
    shared by both ways of running a command can tell them apart without importing asyncio."""
    import sys

    return sys.modules.get("asyncio")


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop; None under `run_inline`."""
    aio = loaded_asyncio()
    if aio is None:
        return None
    try:
        return aio.get_running_loop()
    except RuntimeError:
        return None
