"""The embedded local key service: a stand-in for Warp's key API, kept on this machine.

The panel and the CLI reach its SQLite store directly, in process (`direct.DirectClient`); `serve`
runs oz-keys' own GraphQL schema over it with graphql-core (`resolvers`, behind the HTTP app in
`service`) on a loopback socket (`serving`), the contract the direct path is tested against. No
Textual here. Importing this package is cheap; the heavy parts (Starlette, graphql-core,
Hypercorn) load only for `serve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oz_tui.local.service import LocalService
    from oz_tui.local.serving import serve
    from oz_tui.local.store import KeyStore, LocalStoreError

__all__ = ["KeyStore", "LocalService", "LocalStoreError", "default_data_dir", "serve"]

_LAZY = {
    "KeyStore": "oz_tui.local.store",
    "LocalStoreError": "oz_tui.local.store",
    "LocalService": "oz_tui.local.service",
    "serve": "oz_tui.local.serving",
}


#: The local service's database, inside its data dir.
DB_FILENAME = "keys.db"


def default_data_dir() -> Path:
    """Where the local service keeps `keys.db` unless told otherwise."""
    import platformdirs

    return Path(platformdirs.user_data_dir("oz-keys"))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
