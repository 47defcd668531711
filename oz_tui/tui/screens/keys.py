"""The main screen: Settings > Cloud platform > Oz Cloud API Keys.

All network calls run in workers, so the page paints before the server answers. The key list is
owned by `KeyTable` and reached only through its API; the secret of a new key passes through
here on its way from the create dialog to the show-once dialog and is not kept.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Awaitable, ClassVar, TypeVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState

from oz_tui.api.errors import AuthenticationError, OzError
from oz_tui.api.models import Account, ApiKey, CreatedKey, Expiration
from oz_tui.keymap import ACTIONS
from oz_tui.sanitize import safe_text
from oz_tui.tui.clipboard import ClipboardClearer
from oz_tui.tui.literal import LiteralInput
from oz_tui.tui.widgets import (
    AuthPanel,
    ErrorBanner,
    KeyTable,
    RetryRequested,
    SettingsSidebar,
    StatusLine,
    source_text,
)
from oz_tui.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from oz_tui.tui.app import OzKeysApp

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCS_URL = "https://docs.warp.dev/reference/cli/api-keys"
HEADING = "API keys"
DESCRIPTION = "Keys for the Oz CLI and cloud agents. Docs: "
CREATE_LABEL = "+ Create API Key"
SEARCH_PLACEHOLDER = "Search API keys"
EMPTY_HINT = "Press n or click + Create API Key to create one."
DELETED_TOAST = "API key deleted"
#: Why the create dialog can't offer Team keys while the account (and so its teams) is unknown.
TEAMS_UNKNOWN_REASON = "Your teams aren't known: the account couldn't be loaded (press r to retry)"
STOPPED_LOADING = "Stopped waiting for the server."
STOPPED_DELETING = (
    "Stopped waiting for the server: “{name}” may have been deleted anyway. "
    "Refresh (r) to check."
)
#: Worker groups on this screen that wait for the server (Esc stops waiting for them).
_NETWORK_GROUPS = ("load", "whoami", "delete")
_IN_FLIGHT = (WorkerState.PENDING, WorkerState.RUNNING)
#: Keystrokes less than this apart are coalesced: the search filters when the typing pauses.
SEARCH_DEBOUNCE = 0.15
#: How often relative times ("5 minutes ago") are recomputed.
TICK_SECONDS = 30.0

#: Actions that need the key list (not offered while the credential is refused).
_LIST_ACTIONS = frozenset({"create", "delete", "search", "cycle_sort", "reverse_sort"})
#: Single-key bindings, hidden from the footer while the search box has focus (the box takes
#: those keys as text anyway).
_LETTER_ACTIONS = frozenset(
    {"create", "delete", "search", "refresh", "cycle_sort", "reverse_sort", "help", "quit"}
)


def describe_error(error: BaseException) -> str:
    """A failure in words, safe to show: our errors' own messages, else the type name only."""
    if isinstance(error, OzError):
        return safe_text(error.message, max_length=400)
    return f"Unexpected error ({type(error).__name__})."


class KeysScreen(Screen[None]):
    """The settings page for Oz Cloud API keys."""

    #: Only the Create button, never the search box: when Create is disabled (credential
    #: refused), nothing has focus and the single-letter keys (r to retry) work.
    AUTO_FOCUS = "#create"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (30, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        # Rebindable by id from the config's [keymap] (oz_tui/keymap.py has the default keys);
        # the footer shows an action's first key.
        Binding(ACTIONS["create"].keys, "create", "Create", tooltip="Create an API key",
                id="create"),
        Binding(ACTIONS["delete"].keys, "delete", "Delete", tooltip="Delete the highlighted key",
                id="delete"),
        Binding(ACTIONS["search"].keys, "search", "Search", tooltip="Search keys by name",
                id="search"),
        Binding(ACTIONS["refresh"].keys, "refresh", "Refresh", tooltip="Reload the list",
                id="refresh"),
        Binding(ACTIONS["sort"].keys, "cycle_sort", "Sort", tooltip="Sort by the next column",
                id="sort"),
        Binding(ACTIONS["reverse_sort"].keys, "reverse_sort", "Reverse", show=False,
                id="reverse_sort"),
        Binding(ACTIONS["help"].keys, "help", "Help", id="help"),
        Binding(ACTIONS["quit"].keys, "quit", "Quit", id="quit"),
        Binding("escape", "leave_search", "Back to keys", show=True),
        # Shown only while a request is in flight (a slow or hung server never traps the user).
        Binding("escape", "stop_waiting", "Stop waiting", show=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._account: Account | None = None
        self._search_timer: Timer | None = None
        self._last_keystroke = float("-inf")
        self._deleting: dict[Worker[None], ApiKey] = {}
        self._clipboard_clearer: ClipboardClearer | None = None

    @property
    def oz_app(self) -> OzKeysApp:
        from oz_tui.tui.app import OzKeysApp

        app = self.app
        assert isinstance(app, OzKeysApp)
        return app

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield SettingsSidebar(id="sidebar")
            with Vertical(id="main"):
                with Horizontal(id="heading-row"):
                    yield Static(HEADING, id="heading", markup=False)
                    yield Button(CREATE_LABEL, id="create", variant="primary", compact=True)
                yield Static(self._description(), id="description")
                yield LiteralInput(placeholder=SEARCH_PLACEHOLDER, id="search")
                yield ErrorBanner(id="banner")
                yield AuthPanel(id="auth")
                yield KeyTable(id="keys", empty_hint=EMPTY_HINT)
                yield StatusLine(id="status")
        yield KeysFooter()  # a Footer that recomposes only when the bindings change

    @staticmethod
    def _description() -> Text:
        text = Text(DESCRIPTION)
        text.append(DOCS_URL, style=Style(underline=True, link=DOCS_URL))
        return text

    @property
    def table(self) -> KeyTable:
        return self.query_one("#keys", KeyTable)

    @property
    def search_box(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def banner(self) -> ErrorBanner:
        return self.query_one("#banner", ErrorBanner)

    @property
    def auth_panel(self) -> AuthPanel:
        return self.query_one("#auth", AuthPanel)

    @property
    def status_line(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    def on_mount(self) -> None:
        app = self.oz_app
        # Hashes of copied keys and their timers only; flushed (cleared now) when the page goes.
        self._clipboard_clearer = ClipboardClearer(
            app, getattr(app, "clipboard_clear_seconds", 45.0)
        )
        backend = app.backend
        self.status_line.show_source(source_text(backend.source, is_local=backend.is_local,
                                                 account=None))
        self.status_line.show_summary("Loading…")
        self.table.loading = True
        self.table.focus()
        self.set_interval(TICK_SECONDS, self._tick)
        self.load_keys()

    def on_unmount(self) -> None:
        # The session is ending: a key still on the system clipboard is cleared now, not later.
        if self._clipboard_clearer is not None:
            self._clipboard_clearer.flush()

    def _tick(self) -> None:
        if self.table.loaded:
            self.table.refresh_times(self.oz_app.clock())

    # -- loading --------------------------------------------------------------------------

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load_keys(self) -> None:
        """List the keys (and, until it is known, who we are, alongside); show what happened.

        Who-am-I runs in its own worker: the list never waits for it, and a failing or hung
        who-am-I only leaves the status line without the account.
        """
        client = self.oz_app.backend.client
        if self.table.loaded:
            self.status_line.show_summary("Refreshing…")
        if self._account is None and not self._in_flight("whoami"):
            self.load_account()
        try:
            keys_result = await _settle(client.list_keys())
        finally:
            self.table.loading = False
        self._show_source()

        if isinstance(keys_result, Exception):
            self._show_load_error(keys_result)
            return
        self.banner.clear()
        self.auth_panel.clear()
        self._sync_create_button()
        self.table.display = True
        self.table.set_keys(keys_result, self.oz_app.clock())
        # The count in the same frame as the rows (the table's ViewChanged comes a frame later).
        self._update_summary()
        if self.focused is None or self.focused is self.query_one("#create"):
            self.table.focus()
        self.refresh_bindings()

    @work(exclusive=True, group="whoami", exit_on_error=False)
    async def load_account(self) -> None:
        """Who the credential is: for the status line and the create dialog's teams."""
        try:
            account = await self.oz_app.backend.client.whoami()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the page works without it
            if not isinstance(error, OzError):
                log.warning("whoami failed unexpectedly: %s", type(error).__name__)
            return
        if not self.auth_panel.shown:
            self._account = account
            self._show_source()

    def _in_flight(self, group: str) -> list[Worker[object]]:
        """This screen's workers in `group` that have not finished."""
        return [
            worker
            for worker in self.workers
            if worker.node is self
            and worker.group == group
            and worker.state in _IN_FLIGHT
        ]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The footer's "Stop waiting" follows the requests in flight.
        if event.worker.node is self and event.worker.group in _NETWORK_GROUPS:
            if event.worker in self._deleting:
                if event.state not in _IN_FLIGHT:
                    self._deleting.pop(event.worker)  # type: ignore[call-overload]
                self._update_summary()
            self.refresh_bindings()

    @property
    def waiting(self) -> bool:
        """True while a list, who-am-I or delete request is in flight."""
        return any(self._in_flight(group) for group in _NETWORK_GROUPS)

    def _show_source(self) -> None:
        backend = self.oz_app.backend
        self.status_line.show_source(
            source_text(backend.source, is_local=backend.is_local, account=self._account)
        )

    def _show_load_error(self, error: BaseException) -> None:
        if not isinstance(error, OzError):
            log.error("listing keys failed unexpectedly", exc_info=error)
        message = describe_error(error)
        if isinstance(error, AuthenticationError):
            self._account = None
            self.workers.cancel_group(self, "whoami")
            self.banner.clear()
            self.auth_panel.show_error(message)
            self.table.display = False
            self.status_line.show_summary("Not signed in")
            self._show_source()
        else:
            # The last good list (if any) stays; the banner says the refresh failed.
            self.auth_panel.clear()
            self.table.display = True
            title = "Couldn't refresh the keys:" if self.table.loaded else "Couldn't load the keys:"
            self.banner.show_error(title, message)
            self._update_summary()
        self._sync_create_button()
        self.refresh_bindings()

    def _sync_create_button(self) -> None:
        self.query_one("#create", Button).disabled = self.auth_panel.shown

    # -- reacting to the widgets ----------------------------------------------------------

    @on(KeyTable.ViewChanged)
    def _view_changed(self) -> None:
        self._update_summary()
        self.refresh_bindings()

    def _update_summary(self) -> None:
        table = self.table
        if not table.loaded:
            self.status_line.show_summary("")
            return
        total, shown = len(table.keys), len(table.visible_keys)
        noun = "key" if total == 1 else "keys"
        if table.filter_text:
            summary = f"{shown} of {total} {noun}"
        else:
            summary = f"{total} {noun}"
        if any(worker.state in _IN_FLIGHT for worker in self._deleting):
            summary = f"Deleting… · {summary}"
        self.status_line.show_summary(summary)

    @on(KeyTable.DeleteRequested)
    def _delete_requested(self, event: KeyTable.DeleteRequested) -> None:
        self._confirm_delete(event.key)

    @on(RetryRequested)
    def _retry(self) -> None:
        self.action_refresh()

    @on(Button.Pressed, "#create")
    def _create_pressed(self) -> None:
        self.action_create()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        # A keystroke after a pause filters at once; keystrokes in quick succession are
        # coalesced into one filter when the typing pauses.
        now = asyncio.get_running_loop().time()
        quick, self._last_keystroke = now - self._last_keystroke < SEARCH_DEBOUNCE, now
        if quick:
            self._search_timer = self.set_timer(SEARCH_DEBOUNCE, lambda: self.table.filter(value))
        else:
            self._search_timer = None
            self.table.filter(value)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self.table.filter(event.value)
        self.table.focus()

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        search_focused = self.focused is not None and self.focused.id == "search"
        if action == "leave_search":
            return search_focused
        if action == "stop_waiting":
            return not search_focused and self.waiting
        if search_focused and action in _LETTER_ACTIONS:
            return False
        if action in _LIST_ACTIONS and self.auth_panel.shown:
            return None
        if action == "delete" and self.table.highlighted_key is None:
            return None
        return True

    def action_create(self) -> None:
        if self.auth_panel.shown:
            return
        app = self.oz_app
        client = app.backend.client

        async def create(name: str, expiration: Expiration, team_id: str | None) -> CreatedKey:
            return await client.create_key(name, expiration, team_id=team_id)

        # The dialogs load on first use: none of them is needed for the first frame.
        from oz_tui.tui.screens.create_key import NO_TEAM_REASON, CreateKeyScreen

        teams = self._account.teams if self._account is not None else ()
        app.push_screen(
            CreateKeyScreen(
                create,
                teams=teams,
                default_expiration=app.default_expiration,
                default_key_type=app.default_key_type,
                no_team_reason=(
                    NO_TEAM_REASON if self._account is not None else TEAMS_UNKNOWN_REASON
                ),
            ),
            callback=self._key_created,
        )

    def _key_created(self, created: CreatedKey | None) -> None:
        """Show the secret once; afterwards only the listed key (no secret) stays."""
        if created is None:
            return
        from oz_tui.tui.screens.show_key import ShowKeyScreen

        api_key = created.api_key
        # The callback names only `api_key`: nothing here outlives the dialog with the secret.
        self.app.push_screen(
            ShowKeyScreen(created, clearer=self._clipboard_clearer),
            callback=lambda _: self._key_saved(api_key),
        )

    def _key_saved(self, api_key: ApiKey) -> None:
        self.table.add_key(api_key, self.oz_app.clock())
        self.table.focus()
        self.notify("API key created", markup=False)

    def action_delete(self) -> None:
        key = self.table.highlighted_key
        if key is not None:
            self._confirm_delete(key)

    def _confirm_delete(self, key: ApiKey) -> None:
        if self.auth_panel.shown:
            return

        from oz_tui.tui.screens.confirm_delete import ConfirmDeleteScreen

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._deleting[self.expire_key(key)] = key
                self._update_summary()

        self.app.push_screen(ConfirmDeleteScreen(key), callback=confirmed)

    @work(group="delete", exit_on_error=False)
    async def expire_key(self, key: ApiKey) -> None:
        try:
            await self.oz_app.backend.client.expire_key(key.uid)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a toast, never a traceback
            if not isinstance(error, OzError):
                log.error("deleting a key failed unexpectedly", exc_info=error)
            self.notify(
                f"Couldn't delete “{safe_text(key.name, max_length=60)}”: "
                f"{describe_error(error)}",
                title="Delete failed",
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        self.table.remove_key(key.uid)
        self.notify(DELETED_TOAST, markup=False)

    def action_stop_waiting(self) -> None:
        """Esc while requests are in flight: stop waiting for them and say what that means."""
        loading = bool(self._in_flight("load"))
        deleting = [key for worker, key in self._deleting.items() if worker.state in _IN_FLIGHT]
        for group in _NETWORK_GROUPS:
            self.workers.cancel_group(self, group)
        self._deleting.clear()
        self.table.loading = False
        if loading:
            title = "Stopped refreshing:" if self.table.loaded else "Stopped loading:"
            detail = STOPPED_LOADING + (
                " The list below is from the last successful refresh; press r to try again."
                if self.table.loaded
                else " Press r to try again."
            )
            self.auth_panel.clear()
            self.table.display = True
            self.banner.show_error(title, detail)
        for key in deleting:
            self.notify(
                STOPPED_DELETING.format(name=safe_text(key.name, max_length=60)),
                title="Delete",
                severity="warning",
                timeout=10,
                markup=False,
            )
        self._update_summary()
        self.refresh_bindings()

    def action_refresh(self) -> None:
        if not self.table.loaded and not self.auth_panel.shown and not self.banner.shown:
            self.table.loading = True
        self.load_keys()

    def action_search(self) -> None:
        self.search_box.focus()

    def action_leave_search(self) -> None:
        if self.table.visible_keys:
            self.table.focus()
        else:
            self.set_focus(None)

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()

    def action_help(self) -> None:
        from oz_tui.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_quit(self) -> None:
        self.app.exit()


async def _settle(awaitable: Awaitable[T]) -> T | Exception:
    """The awaitable's result, or the exception it raised (like gather's return_exceptions)."""
    try:
        return await awaitable
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - handed back to the caller to show
        return error
