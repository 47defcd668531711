"""The panel's screens: the keys page (`keys`) and the modal dialogs it pushes, each dismissed
with its result. The dialogs load on first use (the first frame needs none of them), so they are
imported here only when asked for by name."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oz_tui.tui.screens.confirm_delete import ConfirmDeleteScreen
    from oz_tui.tui.screens.create_key import CreateKeyScreen
    from oz_tui.tui.screens.help import HelpScreen
    from oz_tui.tui.screens.show_key import ShowKeyScreen

__all__ = ["ConfirmDeleteScreen", "CreateKeyScreen", "HelpScreen", "ShowKeyScreen"]

_MODULES = {
    "ConfirmDeleteScreen": "confirm_delete",
    "CreateKeyScreen": "create_key",
    "HelpScreen": "help",
    "ShowKeyScreen": "show_key",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
