"""The embedded local key service: a stand-in for Warp's key API, kept on this machine.

It executes oz-keys' own GraphQL schema with graphql-core over SQLite, in process (through an
httpx transport) or on a loopback socket (`serve`). No Textual here. Importing this package is
cheap; the heavy parts (Starlette, graphql-core, Hypercorn) load when first used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oz_tui.local.service import LocalService, serve
    from oz_tui.local.store import KeyStore, LocalStoreError

__all__ = ["KeyStore", "LocalService", "LocalStoreError", "default_data_dir", "serve"]

_LAZY = {
    "KeyStore": "oz_tui.local.store",
    "LocalStoreError": "oz_tui.local.store",
    "LocalService": "oz_tui.local.service",
    "serve": "oz_tui.local.service",
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
