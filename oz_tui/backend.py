"""Where the keys come from: Warp's server, or the embedded local service in-process.

The UI and the CLI get a `Backend` and talk only to its `OzClient`; the local service is imported
here, and only when it is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import httpx

from oz_tui.api.client import OzClient
from oz_tui.api.models import Clock, system_clock

if TYPE_CHECKING:
    from oz_tui.local import LocalService

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

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.service is not None:
            self.service.close()


def remote_backend(
    server_root: str, api_key: str | None, *, clock: Clock = system_clock, **client_options: Any
) -> Backend:
    client = OzClient(server_root, api_key, clock=clock, **client_options)
    return Backend(client=client, source=client.host, is_local=False)


def request_timeouts(seconds: float) -> dict[str, Any]:
    """`OzClient` options bounding each attempt to `seconds` (the `request_timeout` setting):
    the whole attempt, each read within it (at most 30 s) and connecting (at most 5 s, and at
    most half the attempt, so a short setting still reports a slow connect as one)."""
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
) -> Backend:
    """The embedded service reached through an ASGI transport: no socket, no account."""
    from oz_tui.local import LocalService  # deferred: graphql-core and Starlette load only here

    if demo:
        service = LocalService.demo(clock=clock, token_factory=token_factory)
        source = "Demo data (in memory)"
    else:
        service = LocalService(data_dir, clock=clock, token_factory=token_factory)
        source = f"Local key service · {service.location}"
    client = OzClient(LOCAL_SERVER_ROOT, None, transport=service.transport(), clock=clock)
    return Backend(client=client, source=source, is_local=True, service=service)
