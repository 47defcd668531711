"""`KeysFooter`: Textual's Footer, rebuilt only when what it shows changes.

The stock Footer recomposes (removes and mounts a widget per key) on every `refresh_bindings()`,
even when no binding changed, and once per call when several come in one frame. The page calls
it on each load, worker state change, focus change and filter keystroke, so at start-up and
while typing in the search box that is most of the work between frames. This one coalesces the
calls into at most one check per refresh and recomposes only if the shown bindings differ.
"""

from __future__ import annotations

from typing import Any, Hashable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer


class KeysFooter(Footer):
    """A Footer that skips recomposing when its bindings did not change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: Hashable | None = None
        self._check_pending = False

    def _signature(self) -> Hashable:
        """Everything `Footer.compose` reads: the shown bindings, their state and tooltips."""
        active = self.screen.active_bindings
        shown = tuple(
            (binding, enabled, tooltip)
            for (_node, binding, enabled, tooltip) in active.values()
            if binding.show
        )
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        palette_state = None if palette is None else palette[1:]
        return (
            shown,
            palette_state,
            self.show_command_palette,
            self.app.ENABLE_COMMAND_PALETTE,
            self.compact,
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._signature()
        yield from _in_declared_order(list(super().compose()), self.screen)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._check_pending:
            self._check_pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._check_pending = False
        if not self.is_attached:
            return
        if self._signature() != self._shown:
            await self.recompose()


def _in_declared_order(widgets: list[Widget], screen: Screen) -> list[Widget]:
    """The keys in the order the screen declares its actions.

    A keymap (the config's [keymap]) moves a rebound action's keys to the end of Textual's
    binding map, and so to the end of the footer; this keeps each action in its place."""
    rank: dict[str, int] = {}
    for binding in type(screen).BINDINGS:
        action = binding.action if isinstance(binding, Binding) else binding[1]
        rank.setdefault(action, len(rank))

    def action_of(widget: Widget) -> str | None:  # a FooterKey's; None for anything else
        action = getattr(widget, "action", None)
        return action if isinstance(action, str) else None

    keys = [widget for widget in widgets if action_of(widget) is not None]
    ordered = iter(sorted(keys, key=lambda key: rank.get(action_of(key) or "", len(rank))))
    return [next(ordered) if action_of(widget) is not None else widget for widget in widgets]
