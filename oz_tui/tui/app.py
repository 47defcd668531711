"""`OzKeysApp`: the full-screen panel for Warp's Oz Cloud API keys.

    app = OzKeysApp(backend, clock=clock, default_expiration=Expiration.DAYS_90,
                    default_key_type=KeyType.PERSONAL, theme=None)
    app.run()

The app owns the backend from then on and closes it when it exits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import Reactive
from textual.screen import Screen
from textual.theme import Theme

from oz_tui.api.models import Clock, Expiration, KeyType, system_clock
from oz_tui.tui.screens.keys import KeysScreen

if TYPE_CHECKING:
    from oz_tui.backend import Backend, DeferredBackend, RemoteSession

log = logging.getLogger(__name__)

TITLE = "Oz Cloud API Keys"


class OzKeysApp(App[None]):
    """Settings > Cloud platform > Oz Cloud API Keys, in a terminal."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = TITLE

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q", "quit", "Quit", show=False, priority=True,
            tooltip="Quit the app and return to the command prompt.",
        ),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]

    def __init__(
        self,
        backend: Backend | DeferredBackend | RemoteSession,
        *,
        clock: Clock = system_clock,
        default_expiration: Expiration = Expiration.DAYS_90,
        default_key_type: KeyType = KeyType.PERSONAL,
        theme: str | None = None,
        cursor_blink: bool = True,
        clipboard_clear_seconds: float = 45.0,
        local_zone: tzinfo | None = None,
        keymap: Mapping[str, str] | None = None,
        remember_theme: Callable[[str], None] | None = None,
    ) -> None:
        """
        Args:
            backend: Where the keys come from; the app closes it on exit.
            clock: "Now", for relative times and new keys' expiry.
            default_expiration: The create dialog's preselected expiration.
            default_key_type: The create dialog's preselected key type.
            theme: A Textual theme name; None keeps Textual's default.
            cursor_blink: False keeps text cursors steady (snapshots, screenshots, demos).
            clipboard_clear_seconds: A new key copied to the system clipboard is cleared from
                it after this long, if it is still there; 0 never clears.
            local_zone: The zone a key's details show exact times in, besides UTC; None:
                this machine's.
            keymap: Rebound actions, {binding id: keys}, checked by `oz_tui.keymap`.
            remember_theme: Called with the theme's name when the user picks another one (the
                CLI keeps it in the state file for next time); None remembers nothing.
        """
        super().__init__()
        self.backend = backend
        self.clock = clock
        self.default_expiration = default_expiration
        self.default_key_type = default_key_type
        self.cursor_blink = cursor_blink
        self.clipboard_clear_seconds = clipboard_clear_seconds
        self.local_zone = local_zone
        self._requested_theme = theme
        self._backend_closed = False
        self.keymap: Mapping[str, str] = dict(keymap or {})
        self._remember_theme = remember_theme
        self._remembered_theme: str | None = None
        if self.keymap:
            self.set_keymap(dict(self.keymap))

    def get_default_screen(self) -> Screen:
        return KeysScreen()

    def on_mount(self) -> None:
        theme = self._requested_theme
        if theme:
            if theme in self.available_themes:
                self.theme = theme
            else:
                self.notify(
                    f"Unknown theme {theme!r}; using the default.",
                    severity="warning",
                    markup=False,
                )
        if self._remember_theme is not None:
            self._remembered_theme = self.theme
            self.theme_changed_signal.subscribe(self, self._theme_picked)

    def _theme_picked(self, theme: Theme) -> None:
        # The signal also reports the start-up theme being applied: remember only a change.
        if self._remember_theme is not None and theme.name != self._remembered_theme:
            self._remembered_theme = theme.name
            self._remember_theme(theme.name)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Textual starts a cursor blink timer per text widget; with blinking off, stop it as soon
        # as a text widget (in any screen, ours or a dialog's) gets focus. Text widgets are told
        # by their `cursor_blink` reactive (Input, TextArea), so TextArea need not load for this.
        if not self.cursor_blink:
            widget = event.widget
            if isinstance(getattr(type(widget), "cursor_blink", None), Reactive):
                widget.cursor_blink = False  # type: ignore[attr-defined]

    async def on_unmount(self) -> None:
        await self.close_backend()

    async def close_backend(self) -> None:
        """Close the backend once (the client's connections, the local store)."""
        if self._backend_closed:
            return
        self._backend_closed = True
        try:
            await self.backend.aclose()
        except Exception as error:  # noqa: BLE001 - closing must never end in a traceback
            log.warning("closing the backend failed: %s", type(error).__name__)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, KeysScreen):
            yield SystemCommand("Create API key", "Open the New API key dialog (n)",
                                screen.action_create)
            yield SystemCommand("Delete API key", "Delete the highlighted key (d)",
                                screen.action_delete)
            yield SystemCommand("Rotate API key", "Replace the highlighted key with a new one (R)",
                                screen.action_rotate)
            yield SystemCommand("Key details", "Everything about the highlighted key (Enter)",
                                screen.action_details)
            yield SystemCommand("Mark or unmark key", "Mark the highlighted key (Space)",
                                screen.action_toggle_mark)
            yield SystemCommand("Mark every key shown", "Mark the keys the search shows (a)",
                                screen.action_mark_visible)
            yield SystemCommand("Clear marks", "Unmark every key (A)", screen.action_clear_marks)
            yield SystemCommand("Search API keys",
                                "Filter by name, last four, uid or qualifiers (/)",
                                screen.action_search)
            yield SystemCommand("Clear search", "Show every key again (ctrl+u)",
                                screen.action_clear_search)
            yield SystemCommand("Refresh", "Reload the list of keys (r)", screen.action_refresh)
            yield SystemCommand("Sort by next column", "Cycle the sort column (s)",
                                screen.action_cycle_sort)
            yield SystemCommand("Reverse sort order", "Flip the sort order (S)",
                                screen.action_reverse_sort)
            yield SystemCommand("Help", "Keys and what the page shows (?)", screen.action_help)
        yield from super().get_system_commands(screen)
