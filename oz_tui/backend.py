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

    def first_frame_shown(self) -> None:
        """The panel calls this once its first frame is painted; a built backend needs nothing."""

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


def request_timeouts(seconds: float) -> dict[str, Any]:
    """`OzClient` options bounding each attempt to `seconds` (the `request_timeout` setting):
    the whole attempt, each read within it (at most 30 s) and connecting (at most 5 s, and at
    most half the attempt, so a short setting still reports a slow connect as one)."""
    import httpx

    if not seconds > 0:
        raise ValueError(f"a request timeout must be above 0 seconds, not {seconds!r}")
    return {
        "timeout": httpx.Timeout(
            min(MAX_READ_TIMEOUT, seconds), connect=min(MAX_CONNECT_TIMEOUT, seconds / 2)
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
) -> Backend:
    """The embedded service, no socket, no account: straight over its store, or (`path=
    "graphql"`) through its GraphQL service on an ASGI transport, as `serve` would answer.
    `blocking`: the direct client works in the caller's thread (for the CLI: no event loop)."""
    if path == "graphql":
        from oz_tui.api.client import OzClient
        from oz_tui.local import LocalService

        if demo:
            service = LocalService.demo(clock=clock, token_factory=token_factory)
        else:
            service = LocalService(data_dir, clock=clock, token_factory=token_factory)
        client = OzClient(LOCAL_SERVER_ROOT, None, transport=service.transport(), clock=clock)
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
        client=DirectClient(store, clock=clock, blocking=blocking), source=_local_source(store.location, demo),
        is_local=True, store=store,
    )


def _local_source(location: str, demo: bool) -> str:
    return DEMO_SOURCE if demo else local_source(location)


#: Build anyway if the panel has not said "first frame shown" by then.
FIRST_FRAME_GRACE = 1.0


class DeferredBackend:
    """A `Backend` built once the panel's first frame is on screen.

    Building one imports httpx and, for the local service, graphql-core and Starlette: together
    more than the rest of the start-up, and none of it needed to draw the page. The panel opens
    with this stand-in (its `source` known in advance for the status line); once the panel calls
    `first_frame_shown()`, the first request builds the real backend and goes through. A backend
    that cannot be built (an unusable store) fails that request, and the page shows the error
    with a retry.
    """

    def __init__(self, build: Callable[[], Backend], *, source: str, is_local: bool) -> None:
        self._build = build
        self._backend: Backend | None = None
        self._shown: asyncio.Event | None = None  # made in the panel's event loop
        self._source = source
        self.is_local = is_local
        self.client: KeyService = _DeferredClient(self)

    @property
    def source(self) -> str:
        return self._backend.source if self._backend is not None else self._source

    @property
    def service(self) -> LocalService | None:
        return self._backend.service if self._backend is not None else None

    @property
    def store(self) -> KeyStore | None:
        return self._backend.store if self._backend is not None else None

    def first_frame_shown(self) -> None:
        import asyncio

        if self._shown is None:
            self._shown = asyncio.Event()
        self._shown.set()

    def build_now(self) -> Backend:
        """The backend, built here and now if it isn't yet (blocking)."""
        if self._backend is None:
            self._backend = self._build()
        return self._backend

    async def get(self) -> Backend:
        """The backend, built on first use once the first frame is on screen. Built in the
        event loop: the page is drawn and waiting by then, and a thread would contend with it
        for the GIL (measured: about three times slower)."""
        import asyncio

        if self._backend is None:
            if self._shown is None:
                self._shown = asyncio.Event()
            try:
                await asyncio.wait_for(self._shown.wait(), FIRST_FRAME_GRACE)
            except asyncio.TimeoutError:
                pass
        return self.build_now()

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()


class _DeferredClient:
    """`DeferredBackend.client`: the four calls the panel makes (`KeyService`), each waiting for
    the backend to be built, then made on its real `OzClient`."""

    def __init__(self, owner: DeferredBackend) -> None:
        self._owner = owner

    async def _client(self) -> OzClient:
        return (await self._owner.get()).client

    async def list_keys(self) -> list[ApiKey]:
        return await (await self._client()).list_keys()

    async def whoami(self) -> Account:
        return await (await self._client()).whoami()

    async def list_agents(self) -> list[Agent]:
        return await (await self._client()).list_agents()

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey:
        return await (await self._client()).create_key(
            name, expiration, team_id=team_id, agent_uid=agent_uid
        )

    async def expire_key(self, uid: str) -> None:
        await (await self._client()).expire_key(uid)
