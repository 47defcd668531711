"""`OzKeysApp`: the full-screen panel for Warp's Oz Cloud API keys.

    app = OzKeysApp(backend, clock=clock, default_expiration=Expiration.DAYS_90,
                    default_key_type=KeyType.PERSONAL, theme=None)
    app.run()

The app owns the backend from then on and closes it when it exits.

The show-once promise is kept here, where every way out passes, not in each binding: `exit`
(ctrl+q, q, the palette's Quit, anything else that ends the session) first asks a dialog that
still holds an uncopied secret; `export_screenshot` (under the palette's Screenshot,
`save_screenshot` and `deliver_screenshot`) draws such dialogs concealed; SIGTERM, SIGHUP and
SIGQUIT wipe the secret and end the session the normal way (terminal restored, pending
clipboard clears done) with exit code 128 + the signal, and within a bounded time even when the
terminal is gone (see `oz_tui.tui.terminal_guard`). Files the app writes are created 0600.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from contextlib import ExitStack
from functools import partial
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.console import RenderableType
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import Reactive
from textual.screen import Screen
from textual.theme import Theme

from oz_tui.core.models import Clock, Expiration, KeyType, system_clock
from oz_tui.tui.screens.keys import KeysScreen

if TYPE_CHECKING:
    from oz_tui.backend import Backend
    from oz_tui.head_start import DeferredBackend, RemoteSession
    from oz_tui.tui.screens.secret import SecretScreen
    from oz_tui.tui.terminal_guard import TerminalGuard

log = logging.getLogger(__name__)

TITLE = "Oz Cloud API Keys"

#: Signals that end the session the orderly way (exit code 128 + the signal's number).
ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)
#: The permissions files the app creates may have at most: owner read and write (0600).
PRIVATE_UMASK = 0o077


def keep_spaces(svg: str) -> str:
    """`svg` with its whitespace kept as written.

    Rich draws each run of cells as a `<text>` at its own x, its spaces as U+00A0. librsvg
    (rsvg-convert, GNOME's image viewers) strips those too where a run begins, so a run opening
    with spaces ("  wk-**8ba6" after a bold name, "  esc Close" in the footer) is drawn flush
    against the run before it. `xml:space="preserve"` makes every renderer keep them.
    """
    return svg.replace("<svg ", '<svg xml:space="preserve" ', 1)


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
        credential_source: str | None = None,
        explain_local_service: bool = False,
        local_zone: tzinfo | None = None,
        keymap: Mapping[str, str] | None = None,
        remember_theme: Callable[[str], None] | None = None,
        remember_notice_dismissed: Callable[[], None] | None = None,
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
            credential_source: Where the credential came from ("WARP_API_KEY", "--api-key"),
                None without one: the sign-in panel names it in its fix.
            explain_local_service: The local key service was chosen because nothing was
                configured: the page says these keys are local and how to reach real ones.
            local_zone: The zone a key's details show exact times in, besides UTC; None:
                this machine's.
            keymap: Rebound actions, {binding id: keys}, checked by `oz_tui.core.keymap`.
            remember_theme: Called with the theme's name when the user picks another one (the
                CLI keeps it in the state file for next time); None remembers nothing.
            remember_notice_dismissed: Called when *Got it* dismisses the local-service notice
                (the CLI keeps it for the data dir); None remembers nothing.
        """
        super().__init__()
        self.backend = backend
        self.clock = clock
        self.default_expiration = default_expiration
        self.default_key_type = default_key_type
        self.cursor_blink = cursor_blink
        self.clipboard_clear_seconds = clipboard_clear_seconds
        self.credential_source = credential_source
        self.explain_local_service = explain_local_service
        self.local_zone = local_zone
        self._requested_theme = theme
        self._backend_closed = False
        self._terminal_guard: TerminalGuard | None = None
        self._previous_umask: int | None = None
        self.keymap: Mapping[str, str] = dict(keymap or {})
        self._remember_theme = remember_theme
        self._remembered_theme: str | None = None
        self._remember_notice_dismissed = remember_notice_dismissed
        if self.keymap:
            self.set_keymap(dict(self.keymap))

    def get_default_screen(self) -> Screen:
        return KeysScreen(self)

    def on_load(self) -> None:
        # Screenshots (Textual writes them with the default mode), and anything else this
        # process writes while the panel runs, are for the user's eyes only.
        self._previous_umask = os.umask(PRIVATE_UMASK)

    def on_mount(self) -> None:
        self._handle_ending_signals()
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

    def on_local_service_notice_dismissed(self) -> None:
        self.explain_local_service = False
        if self._remember_notice_dismissed is not None:
            self._remember_notice_dismissed()

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
        if self._previous_umask is not None:
            os.umask(self._previous_umask)
            self._previous_umask = None

    # -- every way out ------------------------------------------------------------------------

    def secret_screens(self) -> list[SecretScreen[object]]:
        """The dialogs on the screen stack that hold a secret, top first."""
        # The dialogs load on first use (none is needed for the first frame): until one that
        # holds a secret was loaded, none can be open.
        module = sys.modules.get("oz_tui.tui.screens.secret")
        if module is None:
            return []
        return [
            screen
            for screen in reversed(self.screen_stack)
            if isinstance(screen, module.SecretScreen)
        ]

    def exit(
        self,
        result: None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        """End the session, but first ask a dialog holding an uncopied key (y/n)."""
        unsaved = [screen for screen in self.secret_screens() if screen.secret_unsaved]
        if not unsaved:
            super().exit(result, return_code, message)
            return

        def leave() -> None:
            self._forget_secrets()
            super(OzKeysApp, self).exit(result, return_code, message)

        unsaved[0].confirm_leave(leave, quitting=True)

    def _forget_secrets(self) -> None:
        for screen in self.secret_screens():
            screen.forget_secret()

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Textual's SVG screenshot, with every secret on the stack drawn concealed. The
        palette's Screenshot, `save_screenshot` and `deliver_screenshot` all come here."""
        with ExitStack() as stack:
            for screen in self.secret_screens():
                stack.enter_context(screen.concealed())
            svg = super().export_screenshot(title=title, simplify=simplify)
        return keep_spaces(svg)

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Textual saves to ~/Downloads, which a headless machine (a VM over SSH) often lacks:
        the picture then failed to save. Without one, it goes to the current directory."""
        if path is None:
            from platformdirs import user_downloads_path

            downloads = user_downloads_path()
            path = str(downloads if downloads.is_dir() else Path.cwd())
        return super().deliver_screenshot(filename, path, time_format)

    def run(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        """Textual's `run`; the terminal guard stands down only once it has fully returned
        (the driver's shutdown is where a dead terminal blocks)."""
        try:
            return super().run(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            if self._terminal_guard is not None:
                self._terminal_guard.finished()
                self._terminal_guard = None

    def _handle_ending_signals(self) -> None:
        # Only a real session on a terminal gets the guard (not `run_test`'s headless one).
        if self.is_headless or threading.current_thread() is not threading.main_thread():
            return
        from oz_tui.tui.terminal_guard import TerminalGuard

        loop = asyncio.get_running_loop()

        def request_exit(number: int) -> None:
            loop.call_soon_threadsafe(self._end_on_signal, number)

        self._terminal_guard = TerminalGuard(request_exit, signals=ENDING_SIGNALS)
        self._terminal_guard.install()

    def _end_on_signal(self, number: int) -> None:
        """A signal ends the session now: no question, but nothing left behind either."""
        self._forget_secrets()
        # Exit once the wiped dialog is drawn: a terminal without an alternate screen keeps
        # the last frame, and it must not hold the key.
        self.call_after_refresh(super().exit, None, 128 + number)

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
            # From the one table of the page's actions, with the keys in effect, so the palette
            # says what the footer and the help say.
            from oz_tui.core.keymap import EVERY_ACTION
            from oz_tui.tui.screens.help import action_key_labels

            for action in EVERY_ACTION.values():
                if action.command is None:
                    continue
                keys = ", ".join(action_key_labels(action.id, self.keymap))
                yield SystemCommand(action.command, f"{action.help} ({keys})",
                                    partial(screen.call_later, screen.run_action, action.action))
        yield from super().get_system_commands(screen)
