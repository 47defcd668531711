"""Where the keys come from: Warp's server, or the embedded local service in-process.

The UI and the CLI get a `Backend` and talk only to its `OzClient`. This module stays light:
httpx, and for the local service graphql-core and Starlette, load only when a backend is built,
so the panel can paint its first frame before any of them (see `DeferredBackend`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

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
    from oz_tui.api.client import OzClient
    from oz_tui.local import LocalService


class KeyService(Protocol):
    """What the panel asks of a backend's client: `OzClient`, or a `DeferredBackend`'s stand-in."""

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


LOCAL_SERVER_ROOT = "http://oz-keys.local"
#: However long a request may take, a single read waits at most this long, and connecting this.
MAX_READ_TIMEOUT = 30.0
MAX_CONNECT_TIMEOUT = 5.0


@dataclass
class Backend:
    client: OzClient
    #: Where the keys come from, for the status line: "app.warp.dev", "Local key service · <path>".
    source: str
    is_local: bool
    #: The in-process service, when there is one; closed with the backend.
    service: LocalService | None = field(default=None, repr=False)

    def first_frame_shown(self) -> None:
        """The panel calls this once its first frame is painted; a built backend needs nothing."""

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.service is not None:
            self.service.close()


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
    **client_options: Any,
) -> Backend:
    """The embedded service reached through an ASGI transport: no socket, no account."""
    from oz_tui.api.client import OzClient
    from oz_tui.local import LocalService

    if demo:
        service = LocalService.demo(clock=clock, token_factory=token_factory)
        source = DEMO_SOURCE
    else:
        service = LocalService(data_dir, clock=clock, token_factory=token_factory)
        source = local_source(service.location)
    client = OzClient(
        LOCAL_SERVER_ROOT, None, transport=service.transport(), clock=clock, **client_options
    )
    return Backend(client=client, source=source, is_local=True, service=service)


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
        self._shown: asyncio.Event | None = None
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
    def built(self) -> Backend | None:
        """The backend, if it has been built (never builds it)."""
        return self._backend

    def first_frame_shown(self) -> None:
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

    def is_credential(self, key: ApiKey) -> bool:
        # Keys are listed only by a built backend, so one that isn't built yet signs in with none.
        backend = self._owner.built
        return backend is not None and backend.client.is_credential(key)
