"""Where the keys come from: Warp's server, or the embedded local key service in-process.

The UI and the CLI get a `Backend` and talk only to its client, a `KeyService`: `OzClient` for a
server, `DirectClient` (straight over the local store, no HTTP or GraphQL) for the embedded
service. This module stays light: httpx loads only when a remote backend is built, so the panel
can paint its first frame before it (see `DeferredBackend`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from oz_tui.api.models import (
    Account,
    Agent,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    system_clock,
)
from oz_tui.display import DEMO_SOURCE, local_source

if TYPE_CHECKING:
    import asyncio

    from oz_tui.api.client import OzClient
    from oz_tui.local import KeyStore, LocalService


class KeyService(Protocol):
    """What the panel and the CLI ask of a backend's client: `OzClient` (a server, or the local
    service through GraphQL), `DirectClient` (the local store in process), or a
    `DeferredBackend`'s stand-in."""

    async def list_keys(self) -> list[ApiKey]: ...

    async def whoami(self) -> Account: ...

    async def list_agents(self) -> list[Agent]: ...

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey: ...

    async def expire_key(self, uid: str) -> None: ...

    def is_credential(self, key: ApiKey) -> bool:
        """Whether `key` is the credential these calls are signed in with."""
        ...


#: How the embedded service is reached: straight over the store (the default), or through its
#: GraphQL service over an in-process ASGI transport (the contract tests, and the benchmark's
#: comparison).
LocalPath = Literal["direct", "graphql"]

LOCAL_SERVER_ROOT = "http://oz-keys.local"
#: However long a request may take, a single read waits at most this long, and connecting this.
MAX_READ_TIMEOUT = 30.0
MAX_CONNECT_TIMEOUT = 5.0


@dataclass
class Backend:
    client: Any  # a KeyService (OzClient or DirectClient), with `clock` and `aclose()`
    #: Where the keys come from, for the status line: "app.warp.dev", "Local key service · <path>".
    source: str
    is_local: bool
    #: The in-process GraphQL service, when the local store is reached through it.
    service: LocalService | None = field(default=None, repr=False)
    #: The local store, when there is one; closed with the backend.
    store: KeyStore | None = field(default=None, repr=False)

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.service is not None:
            self.service.close()
        elif self.store is not None:
            self.store.close()


def remote_backend(
    server_root: str, api_key: str | None, *, clock: Clock = system_clock, **client_options: Any
) -> Backend:
    from oz_tui.api.client import OzClient

    client = OzClient(server_root, api_key, clock=clock, **client_options)
    return Backend(client=client, source=client.host, is_local=False)


def connect_timeout(seconds: float) -> float:
    """How long connecting may take within an attempt of `seconds` (the `request_timeout`)."""
    return min(MAX_CONNECT_TIMEOUT, seconds / 2)


def request_timeouts(seconds: float) -> dict[str, Any]:
    """`OzClient` options bounding each attempt to `seconds` (the `request_timeout` setting):
    the whole attempt, each read within it (at most 30 s) and connecting (at most 5 s, and at
    most half the attempt, so a short setting still reports a slow connect as one)."""
    # httpx through the client module, which keeps httpx's command-line tool (click, pygments,
    # rich: over 40 ms) from loading with it.
    from oz_tui.api.client import httpx

    if not seconds > 0:
        raise ValueError(f"a request timeout must be above 0 seconds, not {seconds!r}")
    return {
        "timeout": httpx.Timeout(
            min(MAX_READ_TIMEOUT, seconds), connect=connect_timeout(seconds)
        ),
        "total_timeout": seconds,
    }


def local_backend(
    data_dir: Path | None = None,
    *,
    demo: bool = False,
    clock: Clock = system_clock,
    token_factory: Callable[[], str] | None = None,
    path: LocalPath = "direct",
    blocking: bool = False,
    **client_options: Any,
) -> Backend:
    """The embedded service, no socket, no account: straight over its store, or (`path=
    "graphql"`) through its GraphQL service on an ASGI transport, as `serve` would answer.
    `blocking`: the direct client works in the caller's thread (for the CLI: no event loop).
    `client_options` go to the GraphQL path's `OzClient` (the direct one sends nothing)."""
    if path == "graphql":
        from oz_tui.api.client import OzClient
        from oz_tui.local import LocalService

        if demo:
            service = LocalService.demo(clock=clock, token_factory=token_factory)
        else:
            service = LocalService(data_dir, clock=clock, token_factory=token_factory)
        client = OzClient(
            LOCAL_SERVER_ROOT, None, transport=service.transport(), clock=clock, **client_options
        )
        return Backend(
            client=client, source=_local_source(service.location, demo), is_local=True,
            service=service, store=service.store,
        )
    from oz_tui.local import DB_FILENAME, default_data_dir
    from oz_tui.local.direct import DirectClient
    from oz_tui.local.store import KeyStore

    if demo:
        from oz_tui.local.demo import seed_demo

        store = KeyStore(None, clock=clock, token_factory=token_factory)
        seed_demo(store, clock())
    else:
        db_path = (data_dir or default_data_dir()) / DB_FILENAME
        store = KeyStore(db_path, clock=clock, token_factory=token_factory)
    return Backend(
        client=DirectClient(store, clock=clock, blocking=blocking),
        source=_local_source(store.location, demo), is_local=True, store=store,
    )


def _local_source(location: str, demo: bool) -> str:
    return DEMO_SOURCE if demo else local_source(location)


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
