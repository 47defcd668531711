"""How oz-keys identifies itself to Warp's server, the way Warp's own CLI does.

Every request carries `X-Warp-Client-ID` (the client's role; Warp's CLI sends `warp-cli`),
`X-Warp-Client-Version` and the `X-Warp-OS-*` headers, and no User-Agent unless one is configured:
Warp's edge is reported to rate-limit clients that don't look like Warp's own. The same OS values go
into every operation's `requestContext`. What a header value may hold is in `headers`: the
settings check values with it without loading this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from oz_tui import __version__
from oz_tui.api.headers import DEFAULT_CLIENT_ID, header_value_problem

CLIENT_VERSION = f"oz-keys/{__version__}"

_CATEGORIES = {"Darwin": "macOS", "Linux": "Linux", "Windows": "Windows"}


@dataclass(frozen=True, slots=True)
class OsInfo:
    """The `X-Warp-OS-*` values: on Linux the distribution's name and version (os-release)."""

    category: str
    name: str
    version: str | None
    linux_kernel_version: str | None = None


@functools.cache
def os_info() -> OsInfo:
    """This machine's OS, as Warp's client reports it. Computed once per process."""
    import platform  # only when a request is made

    system = platform.system()
    category = _CATEGORIES.get(system, system or "Unknown")
    if system == "Linux":
        try:
            release = platform.freedesktop_os_release()
        except OSError:  # no /etc/os-release (some containers)
            release = {}
        return OsInfo(
            category=category,
            name=release.get("NAME") or category,
            version=release.get("VERSION_ID") or None,
            linux_kernel_version=platform.release() or None,
        )
    if system == "Darwin":
        version = platform.mac_ver()[0]
    else:
        version = platform.version() if system == "Windows" else platform.release()
    return OsInfo(category=category, name=category, version=version or None)


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """What every request says about the client: the role, the release and the OS."""

    client_id: str = DEFAULT_CLIENT_ID
    #: None: no User-Agent header at all, as Warp's own client.
    user_agent: str | None = None
    client_version: str = CLIENT_VERSION
    os: OsInfo | None = None

    def __post_init__(self) -> None:
        checks = [("client_id", self.client_id)]
        if self.user_agent is not None:
            checks.append(("user_agent", self.user_agent))
        for what, value in checks:
            problem = header_value_problem(value)
            if problem:
                raise ValueError(f"{what} {problem}")

    @property
    def os_values(self) -> OsInfo:
        return self.os if self.os is not None else os_info()

    def headers(self) -> dict[str, str]:
        os_values = self.os_values
        headers = {
            "X-Warp-Client-ID": self.client_id,
            "X-Warp-Client-Version": self.client_version,
            "X-Warp-OS-Category": os_values.category,
            "X-Warp-OS-Name": os_values.name,
        }
        if os_values.version:
            headers["X-Warp-OS-Version"] = os_values.version
        if os_values.linux_kernel_version:
            headers["X-Warp-OS-Linux-Kernel-Version"] = os_values.linux_kernel_version
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        # An OS value with odd characters (a hand-edited os-release) is dropped, not sent broken.
        return {name: value for name, value in headers.items() if not header_value_problem(value)}

    def request_context(self) -> dict[str, Any]:
        """`requestContext`, sent with every operation: the same release and OS values."""
        os_values = self.os_values
        return {
            "clientContext": {"version": self.client_version},
            "osContext": {
                "category": os_values.category,
                "name": os_values.name,
                "version": os_values.version,
                "linuxKernelVersion": os_values.linux_kernel_version,
            },
        }
