"""Where the keys come from: Warp's server, or the embedded local key service in-process.

The UI and the CLI get a `Backend` and talk only to its client, a `KeyService`: `OzClient` for a
server, `DirectClient` (straight over the local store, no HTTP or GraphQL) for the embedded
service. `for_command` and `for_panel` make the one the settings name: the CLI calls one of them
once, and the panel then talks to what it returns. This module stays light: httpx loads only
when a remote backend is built, so the panel can paint its first frame before it (the start-up
head start, `oz_tui.head_start`, is used from here only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from oz_tui.core.models import (
    Account,
    Agent,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    system_clock,
)
from oz_tui.core.display import DEMO_SOURCE, local_source

if TYPE_CHECKING:
    from oz_tui.config import Settings
    from oz_tui.head_start import DeferredBackend, Preconnect, RemoteSession
    from oz_tui.local import KeyStore, LocalService


class KeyService(Protocol):
    """What the panel and the CLI ask of a backend's client: `OzClient` (a server, or the local
    service through GraphQL), `DirectClient` (the local store in process), or the stand-in of a
    backend built later (`oz_tui.head_start`)."""

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
    import httpx

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


# -- the backend a command line asks for --------------------------------------------------------


def for_command(settings: Settings) -> Backend:
    """A command's backend: a local one works in the caller's thread (no event loop needed); a
    remote one sends over a connection opened from now on (commands send one request at a time)
    and waits on its server at most the command's budget (`command_timeout`)."""
    return build(settings, blocking=True, preconnect=_preconnect(settings, 1),
                  command_timeout=settings.command_timeout)


def for_panel(settings: Settings) -> DeferredBackend | RemoteSession:
    """The panel's backend: the local store's, built by the panel's first request (its keys in
    the first frame); a server's, a session whose client is built before Textual loads (its
    connections open meanwhile) and whose opening requests go out while Textual loads. The
    status line's source is known before either is built, from the labels the built backend
    uses."""
    from oz_tui.core.display import server_host
    from oz_tui.head_start import DeferredBackend, RemoteSession

    if settings.mode == "remote":
        # Four connections: the panel's opening requests go out together (the list, who-am-I's
        # two: GetUser and GetWorkspacesMetadataForUser, and the agents), one connection each.
        preconnect = _preconnect(settings, 4)
        session = RemoteSession(
            lambda: build(settings, preconnect=preconnect),
            source=server_host(settings.server_root_url or ""),
        )
        session.wait_opened()
        return session
    if settings.mode == "demo":
        source = DEMO_SOURCE
    else:
        from oz_tui.local import DB_FILENAME, default_data_dir

        source = local_source(str((settings.data_dir or default_data_dir()) / DB_FILENAME))
    return DeferredBackend(lambda: build(settings), source=source, is_local=True)


def _preconnect(settings: Settings, count: int) -> Preconnect | None:
    """Connections to the settings' server, opening from now on (None for the local store)."""
    if settings.mode != "remote" or not settings.server_root_url:
        return None
    from oz_tui.head_start import Preconnect

    return Preconnect.start(
        settings.server_root_url, count=count, timeout=connect_timeout(settings.request_timeout)
    )


def build(
    settings: Settings,
    *,
    blocking: bool = False,
    preconnect: Preconnect | None = None,
    command_timeout: float | None = None,
) -> Backend:
    """The backend the settings name, built now (no head start: `for_command` and `for_panel`
    add it)."""
    if settings.mode == "demo":
        return local_backend(demo=True, blocking=blocking)
    if settings.mode == "local":
        return local_backend(settings.data_dir, blocking=blocking)
    assert settings.server_root_url is not None
    return remote_backend(
        settings.server_root_url,
        settings.api_key,
        transport=preconnect.transport() if preconnect is not None else None,
        command_timeout=command_timeout,
        # Who the client says it is, on the wire (the local store in process sends nothing).
        client_id=settings.client_id,
        user_agent=settings.user_agent,
        **request_timeouts(settings.request_timeout),
    )
