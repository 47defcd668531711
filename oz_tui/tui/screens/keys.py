"""The main screen: Settings > Cloud platform > Oz Cloud API Keys.

All network calls run in workers, so the page paints before the server answers. The key list is
owned by `KeyTable` and reached only through its API. What the page shows follows from one
reactive `state` (`oz_tui.core.page_state.PageState`): its watcher draws the page's parts, and
`check_action` reads it. The page never sees a new key's secret: the create and rotate flows
(`oz_tui.tui.screens.new_key_flow`) show it and hand the page only the key's properties. It
reads the app through `PanelHost` and never imports it.
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
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from oz_tui.core.errors import ACCOUNT_FIX, AccountUnavailableError, AuthenticationError, OzError
from oz_tui.core.models import Account, Agent, ApiKey, KeyScope
from oz_tui.core.authorization import Action, Decision, decide_for_client, own_key
from oz_tui.core.page_state import STATE_SUMMARY, PageState, PageView, list_summary, offered
from oz_tui.core.display import quoted_name
from oz_tui.core.keymap import ACTIONS
from oz_tui.core.sanitize import safe_text
from oz_tui.tui.clipboard import ClipboardClearer
from oz_tui.tui.literal import LiteralInput
from oz_tui.tui.widgets import (
    AuthPanel,
    ErrorBanner,
    KeyTable,
    LocalServiceNotice,
    RetryRequested,
    SearchHint,
    SettingsSidebar,
    StatusLine,
    source_text,
)
from oz_tui.tui.widgets.banner import SIGNED_OUT_TITLE, credential_fix, signed_out_fix
from oz_tui.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from oz_tui.api.bulk import ExpireOutcome
    from oz_tui.tui.host import PanelHost
    from oz_tui.tui.screens.create_key import CreateKeyScreen
    from oz_tui.tui.screens.key_details import DetailsChoice

log = logging.getLogger(__name__)
T = TypeVar("T")

DOCS_URL = "https://docs.warp.dev/reference/cli/api-keys"
HEADING = "API keys"
DESCRIPTION = "Keys for the Oz CLI and cloud agents. Docs: "
CREATE_LABEL = "+ Create API Key"
SEARCH_PLACEHOLDER = "Search API keys"
EMPTY_HINT = "Press n or click + Create API Key to create one."
#: Toasts name the key they are about (terminal-safe, cut): "Deleted “ci-deploy”".
DELETED_TOAST = "Deleted {name}"
CREATED_TOAST = "Created {name}"
#: Why the create dialog can't offer Team keys while the account (and so its teams) is unknown.
TEAMS_UNKNOWN_REASON = "Your teams aren't known: the account couldn't be loaded (press r to retry)"
STOPPED_LOADING = "Stopped waiting for the server."
STOPPED_DELETING = (
    "Stopped waiting for the server: “{name}” may have been deleted anyway. "
    "Refresh (r) to check."
)
STOPPED_BULK_DELETING = (
    "Stopped waiting for the server: some of the {count} marked keys may have been deleted "
    "anyway. Refresh (r) to check."
)
#: Worker groups on this screen that wait for the server (Esc stops waiting for them).
_NETWORK_GROUPS = ("load", "whoami", "agents", "delete")
_IN_FLIGHT = (WorkerState.PENDING, WorkerState.RUNNING)
#: Keystrokes less than this apart are coalesced: the search filters when the typing pauses.
SEARCH_DEBOUNCE = 0.15
#: How often relative times ("5 minutes ago") are recomputed.
TICK_SECONDS = 30.0


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
        (120, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (30, "-tall")]

    BINDINGS: ClassVar[list[BindingType]] = [
        # Rebindable by id from the config's [keymap] (oz_tui/core/keymap.py has the default keys);
        # the footer shows an action's first key.
        Binding(ACTIONS["create"].keys, "create", "Create", tooltip="Create an API key",
                id="create"),
        Binding(ACTIONS["delete"].keys, "delete", "Delete", tooltip="Delete the highlighted key",
                id="delete"),
        Binding(ACTIONS["mark"].keys, "toggle_mark", "Mark",
                tooltip="Mark or unmark the highlighted key", id="mark"),
        # The same key, unlisted: what a narrow terminal's footer uses (see check_action).
        Binding(ACTIONS["mark"].keys, "toggle_mark(False)", "Mark", show=False, id="mark"),
        Binding(ACTIONS["mark_all"].keys, "mark_visible", "Mark all", show=False,
                id="mark_all"),
        Binding(ACTIONS["clear_marks"].keys, "clear_marks", "Clear marks", show=False,
                id="clear_marks"),
        # Not in the footer: at 80 columns the footer's keys and "^p palette" fill 76 of the 80
        # columns and "R Rotate" needs 10, so it would push Quit off. In help and the palette.
        Binding(ACTIONS["rotate"].keys, "rotate", "Rotate", show=False, id="rotate"),
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
        # Out of the search box, Esc again clears it (ctrl+u too, in the box or out of it).
        Binding("escape", "clear_search", "Clear search", show=True),
        Binding("ctrl+u", "clear_search", "Clear search", show=False, priority=True),
    ]

    #: What the page shows; every assignment redraws the page's parts (`watch_state`).
    state: reactive[PageState] = reactive(PageState.LOADING, always_update=True, init=False)

    def __init__(self, host: PanelHost) -> None:
        """
        Args:
            host: The app's settings and backend (the app itself).
        """
        super().__init__()
        self.host = host
        self._account: Account | None = None
        self._search_timer: Timer | None = None
        self._last_keystroke = float("-inf")
        self._deleting: dict[Worker[None], ApiKey] = {}
        #: Bulk deletes in flight: worker -> the marked keys it is deleting.
        self._bulk_deleting: dict[Worker[None], tuple[ApiKey, ...]] = {}
        self._clipboard_clearer: ClipboardClearer | None = None
        #: Set once the key the panel signs in with was deleted here: nothing can be loaded
        #: any more, and the page says how to start again instead of offering a retry.
        self._signed_out_message: str | None = None
        #: The team's agents for the create dialog: None until loaded; why they couldn't be.
        self._agents: tuple[Agent, ...] | None = None
        self._agents_problem: str | None = None
        self._create_dialog: CreateKeyScreen | None = None
        #: The list request refreshing a shown list, while it is in flight.
        self._refreshing: Worker[None] | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield SettingsSidebar(id="sidebar")
            with Vertical(id="main"):
                with Horizontal(id="heading-row"):
                    yield Static(HEADING, id="heading", markup=False)
                    yield Button(CREATE_LABEL, id="create", variant="primary", compact=True)
                yield Static(self._description(), id="description")
                if self.host.explain_local_service:
                    yield LocalServiceNotice(id="local-notice")
                yield LiteralInput(placeholder=SEARCH_PLACEHOLDER, id="search")
                yield SearchHint(id="search-hint")
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
    def search_hint(self) -> SearchHint:
        return self.query_one("#search-hint", SearchHint)

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
        # Hashes of copied keys and their timers only; flushed (cleared now) when the page goes.
        self._clipboard_clearer = ClipboardClearer(self.app, self.host.clipboard_clear_seconds)
        self.state = PageState.LOADING
        self.table.focus()
        self.set_interval(TICK_SECONDS, self._tick)
        self.load_keys()

    def on_resize(self) -> None:
        self.refresh_bindings()  # the footer lists Space only where it has room

    def on_unmount(self) -> None:
        # The session is ending: a key still on the system clipboard is cleared now, not later.
        if self._clipboard_clearer is not None:
            self._clipboard_clearer.flush()

    def _tick(self) -> None:
        if self.table.loaded:
            self.table.refresh_times(self.host.clock())

    # -- loading --------------------------------------------------------------------------

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load_keys(self) -> None:
        """List the keys (and, alongside, who we are until that is known, and the team's
        agents); show what happened.

        Who-am-I and the agents run in their own workers: the list never waits for them, nor
        they for each other, and a failing or hung one only leaves its part out (the status
        line's account, the create dialog's Agent type).
        """
        client = self.host.backend.client
        if self._account is None and not self._in_flight("whoami"):
            self.load_account()
        if not self._in_flight("agents"):
            self.load_agents()
        # A refresh says so on the status line until it is done (a first load shows the spinner).
        worker = get_current_worker()
        self._refreshing = worker if self.table.loaded else None
        if self._refreshing is not None:
            self._sync()
        try:
            keys_result = await _settle(client.list_keys())
        finally:
            if self._refreshing is worker:
                self._refreshing = None

        if isinstance(keys_result, Exception):
            self._show_load_error(keys_result)
            return
        self.banner.clear()
        self.table.set_keys(keys_result, self.host.clock())
        # The count in the same frame as the rows (the table's ViewChanged comes a frame later).
        self.state = PageState.READY
        if self.focused is None or self.focused is self.query_one("#create"):
            self.table.focus()

    @work(exclusive=True, group="whoami", exit_on_error=False)
    async def load_account(self) -> None:
        """Who the credential is: for the status line and the create dialog's teams."""
        try:
            account = await self.host.backend.client.whoami()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the page works without it
            if not isinstance(error, OzError):
                log.warning("whoami failed unexpectedly: %s", type(error).__name__)
            return
        if self.state.offers_keys:
            self._account = account
            self._sync()

    @work(exclusive=True, group="agents", exit_on_error=False)
    async def load_agents(self) -> None:
        """The team's agents, for the create dialog's Agent type.

        Loaded with the keys (and again on each refresh), not when the dialog opens: the
        dialog is then complete the moment it opens, and the page pays nothing for it, the
        request running alongside the others. A dialog opened before the answer shows Agent
        as loading and is told when it comes. A failure leaves a good list in place.
        """
        try:
            agents = await self.host.backend.client.list_agents()
        except asyncio.CancelledError:
            self._offer_agents(None, STOPPED_LOADING.rstrip("."))
            raise
        except Exception as error:  # noqa: BLE001 - the page works without them
            if not isinstance(error, OzError):
                log.warning("listing agents failed unexpectedly: %s", type(error).__name__)
            self._offer_agents(None, describe_error(error).rstrip("."))
            return
        self._offer_agents(tuple(agents), None)

    def _offer_agents(self, agents: tuple[Agent, ...] | None, problem: str | None) -> None:
        if agents is not None or self._agents is None:
            self._agents, self._agents_problem = agents, problem
        if self._create_dialog is not None:
            self._create_dialog.offer_agents(self._agents, self._agents_problem)

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
            if event.worker in self._deleting or event.worker in self._bulk_deleting:
                if event.state not in _IN_FLIGHT:
                    self._deleting.pop(event.worker, None)  # type: ignore[call-overload]
                    self._bulk_deleting.pop(event.worker, None)  # type: ignore[call-overload]
            self._sync()

    @property
    def waiting(self) -> bool:
        """True while a list, who-am-I or delete request is in flight."""
        return any(self._in_flight(group) for group in _NETWORK_GROUPS)

    # -- drawing the page from its state --------------------------------------------------

    def watch_state(self) -> None:
        self._sync()

    def _sync(self) -> None:
        """Draw the page's parts from its state (and the list, the account, the requests in
        flight): the one place they are set. Called by the state's watcher, and when one of
        the others changes."""
        state = self.state
        table = self.table
        table.loading = state is PageState.LOADING
        table.display = state.offers_keys
        if state.offers_keys:
            self.auth_panel.clear()
        else:
            self.banner.clear()
        button = self.query_one("#create", Button)
        refusal = self._may(Action.CREATE)
        button.disabled = not state.offers_keys or not refusal.allowed
        button.tooltip = None if refusal.allowed else refusal.reason
        backend = self.host.backend
        self.status_line.show_source(
            source_text(backend.source, is_local=backend.is_local, account=self._account)
        )
        self.status_line.show_summary(self._summary())
        self.refresh_bindings()

    def _summary(self) -> str:
        said = STATE_SUMMARY.get(self.state)
        if said is not None:
            return said
        table = self.table
        if not table.loaded:
            return ""
        deleting = (*self._deleting, *self._bulk_deleting)
        return list_summary(
            len(table.keys), len(table.visible_keys),
            filtered=bool(table.filter_text),
            marked=len(table.marked_keys),
            failed=len(table.mark_failures),
            deleting=any(worker.state in _IN_FLIGHT for worker in deleting),
            refreshing=self._refreshing is not None and self._refreshing.state in _IN_FLIGHT,
        )

    def _show_load_error(self, error: BaseException) -> None:
        if not isinstance(error, OzError):
            log.error("listing keys failed unexpectedly", exc_info=error)
        message = describe_error(error)
        if isinstance(error, AuthenticationError):
            self._account = None
            self.workers.cancel_group(self, "whoami")
            self.banner.clear()
            if self._signed_out_message is not None:
                self._show_signed_out()
                return
            # A disabled account is not a wrong key: asking for a new key would mislead.
            fix = (
                ACCOUNT_FIX if isinstance(error, AccountUnavailableError)
                else credential_fix(self.host.credential_source)
            )
            self.auth_panel.show_error(message, fix)
            self.state = PageState.REFUSED
        else:
            # The last good list (if any) stays; the banner says the refresh failed.
            title = "Couldn't refresh the keys:" if self.table.loaded else "Couldn't load the keys:"
            self.banner.show_error(title, message)
            self.state = PageState.READY if self.table.loaded else PageState.FAILED

    def _may(self, action: Action, subject: ApiKey | None = None) -> Decision:
        """What the signed-in principal may do, by the one authorization table: said before
        a request is sent, not after one fails."""
        signed_in_with = own_key(self.table.keys, self.host.backend.client.is_credential)
        return decide_for_client(self._account, signed_in_with, action, subject)

    def _refuse(self, refusal: Decision) -> bool:
        """Say why (a toast) and return True when `refusal` refuses."""
        if not refusal.allowed:
            self.notify(refusal.reason, title="Not allowed", severity="warning", markup=False)
        return not refusal.allowed

    # -- reacting to the widgets ----------------------------------------------------------

    @on(KeyTable.ViewChanged)
    def _view_changed(self) -> None:
        self.search_hint.show_hint(self.table.search_hint)
        self._sync()

    @on(KeyTable.DeleteRequested)
    def _delete_requested(self, event: KeyTable.DeleteRequested) -> None:
        self._confirm_delete(event.key)

    @on(KeyTable.DetailsRequested)
    def _details_requested(self, event: KeyTable.DetailsRequested) -> None:
        self.show_details(event.key)

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
        table = self.table
        return offered(action, parameters, PageView(
            state=self.state,
            search_focused=self.focused is not None and self.focused.id == "search",
            searching=bool(self.search_box.value),
            waiting=self.waiting,
            width=self.size.width,
            marked=bool(table.marked_keys),
            highlighted=table.highlighted_key is not None,
        ))

    def action_create(self) -> None:
        if not self.state.offers_keys or self._refuse(self._may(Action.CREATE)):
            return
        host = self.host
        # The dialogs load on first use: none of them is needed for the first frame. The whole
        # flow (*Save your key* too) loads here, before the dialog can make a key: never after
        # the server did.
        try:
            from oz_tui.tui.screens import new_key_flow

            new_key_flow.load(new_key_flow.CREATE_MODULES)
            from oz_tui.tui.screens.create_key import NO_TEAM_REASON, CreateKeyScreen
        except ImportError as error:
            self._code_changed(error)
            return

        teams = self._account.teams if self._account is not None else ()
        client = host.backend.client
        dialog = CreateKeyScreen(
            client.create_key,
            teams=teams,
            default_expiration=host.default_expiration,
            default_key_type=host.default_key_type,
            no_team_reason=NO_TEAM_REASON if self._account is not None else TEAMS_UNKNOWN_REASON,
            agents=self._agents,
            agents_problem=self._agents_problem,
        )
        # Told about agents that arrive while it is open.
        self._create_dialog = dialog
        new_key_flow.create_flow(
            self.app, dialog, clearer=self._clipboard_clearer, take_back=client.expire_key,
            then=self._key_saved,
        )

    def _key_saved(self, api_key: ApiKey | None) -> None:
        """The create flow is over: `api_key` (its properties only) was shown; None: cancelled."""
        self._create_dialog = None
        if api_key is None:
            return
        self.table.add_key(api_key, self.host.clock())
        self.table.focus()
        self.notify(CREATED_TOAST.format(name=quoted_name(api_key.name)), markup=False)

    def action_delete(self) -> None:
        """Delete the marked keys (one confirmation for all), else the highlighted one."""
        if self.table.marked_keys:
            self._confirm_bulk_delete()
            return
        key = self.table.highlighted_key
        if key is not None:
            self._confirm_delete(key)

    def _confirm_delete(self, key: ApiKey) -> None:
        if not self.state.offers_keys or self._refuse(self._may(Action.EXPIRE, key)):
            return

        try:
            from oz_tui.tui.screens.confirm_delete import ConfirmDeleteScreen
        except ImportError as error:
            self._code_changed(error)
            return

        in_use = self.host.backend.client.is_credential(key)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._deleting[self.expire_key(key, credential_in_use=in_use)] = key
                self._sync()

        self.app.push_screen(
            ConfirmDeleteScreen(key, credential_in_use=in_use), callback=confirmed
        )

    @work(group="delete", exit_on_error=False)
    async def expire_key(self, key: ApiKey, *, credential_in_use: bool = False) -> None:
        try:
            await self.host.backend.client.expire_key(key.uid)
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
        self.notify(DELETED_TOAST.format(name=quoted_name(key.name)), markup=False)
        if credential_in_use:
            self._signed_out(key)

    def _signed_out(self, key: ApiKey) -> None:
        """`key`, the one the panel signs in with, was deleted here."""
        self._signed_out_message = (
            f"You deleted {quoted_name(key.name)} ({key.masked}), the API key oz-keys was "
            "signed in with, so this panel can't reach your keys any more."
        )
        self._show_signed_out()

    def _show_signed_out(self) -> None:
        """The key in use is gone: say so, and how to go on, in place of the table."""
        assert self._signed_out_message is not None
        for group in _NETWORK_GROUPS:
            self.workers.cancel_group(self, group)
        self._account = None
        self.auth_panel.show_error(
            self._signed_out_message,
            signed_out_fix(self.host.credential_source),
            title=SIGNED_OUT_TITLE,
        )
        self.state = PageState.SIGNED_OUT

    # -- details ----------------------------------------------------------------------------

    def action_details(self) -> None:
        key = self.table.highlighted_key
        if key is not None and self.state.offers_keys:
            self.show_details(key)

    def show_details(self, key: ApiKey) -> None:
        """The details dialog of `key` (the highlighted key): copy its uid, rotate, delete."""
        from oz_tui.tui.screens.key_details import KeyDetailsScreen

        app = self.host
        teams = self._account.teams if self._account is not None else ()
        team_name = teams[0].name if key.scope is KeyScope.TEAM and len(teams) == 1 else None
        self.app.push_screen(
            KeyDetailsScreen(
                key,
                app.clock(),
                zone=app.local_zone,
                team_name=team_name,
                in_use=key in self._credentials_in_use([key]),
                failure=self.table.mark_failures.get(key.uid),
            ),
            callback=lambda choice: self._details_closed(key, choice),
        )

    def _details_closed(self, key: ApiKey, choice: DetailsChoice | None) -> None:
        from oz_tui.tui.screens.key_details import DetailsChoice

        self.table.focus()
        if choice is None:
            return
        highlighted = self.table.highlighted_key
        if highlighted is None or highlighted.uid != key.uid:
            # The list changed under the dialog (a refresh dropped the key).
            self.notify("That key is no longer listed.", severity="warning", markup=False)
            return
        if choice is DetailsChoice.DELETE:
            self._confirm_delete(key)
        elif choice is DetailsChoice.ROTATE:
            self.action_rotate()  # the highlighted key, checked above to be this one

    # -- deleting the marked keys -----------------------------------------------------------

    def _credentials_in_use(self, keys: list[ApiKey] | tuple[ApiKey, ...]) -> list[ApiKey]:
        """Those of `keys` that are the credential oz-keys is signed in with."""
        client = self.host.backend.client
        return [key for key in keys if client.is_credential(key)]

    def _confirm_bulk_delete(self) -> None:
        if not self.state.offers_keys:
            return
        from oz_tui.tui.screens.bulk_delete import ConfirmBulkDeleteScreen

        # Keys already being deleted are not sent again (their outcome is still to come).
        busy = {
            key.uid
            for worker, keys in self._bulk_deleting.items()
            if worker.state in _IN_FLIGHT
            for key in keys
        }
        keys = tuple(key for key in self.table.marked_keys if key.uid not in busy)
        if not keys:
            self.notify("The marked keys are being deleted.", markup=False)
            return
        # One refused key refuses the batch: nothing is sent, the reason is said once.
        refused = [r for r in (self._may(Action.EXPIRE, key) for key in keys) if not r.allowed]
        if refused and self._refuse(refused[0]):
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._bulk_deleting[self.expire_marked(keys)] = keys
                self._sync()

        self.app.push_screen(
            ConfirmBulkDeleteScreen(keys, self._credentials_in_use(keys)), callback=confirmed
        )

    @work(group="delete", exit_on_error=False)
    async def expire_marked(self, keys: tuple[ApiKey, ...]) -> None:
        """Delete `keys`, a few at a time, each once: a deleted key leaves the table as soon as
        it is done; a failed one stays marked with its reason."""
        from oz_tui.api.bulk import expire_each

        table = self.table
        reasons: dict[str, str] = {}

        def settled(outcome: ExpireOutcome) -> None:
            if outcome.error is None:
                table.remove_key(outcome.key.uid)
                return
            if not isinstance(outcome.error, OzError):
                log.error("deleting a key failed unexpectedly", exc_info=outcome.error)
            reasons[outcome.key.uid] = describe_error(outcome.error)
            table.set_mark_failure(outcome.key.uid, reasons[outcome.key.uid])

        in_use = self._credentials_in_use(keys)
        outcomes = await expire_each(
            self.host.backend.client.expire_key, keys, on_outcome=settled
        )
        self._show_bulk_outcome(outcomes, reasons)
        deleted_in_use = [o.key for o in outcomes if o.error is None and o.key in in_use]
        if deleted_in_use:
            self._signed_out(deleted_in_use[0])

    def _show_bulk_outcome(self, outcomes: list[ExpireOutcome], reasons: dict[str, str]) -> None:
        from oz_tui.tui.screens.bulk_delete import BulkDeleteOutcomeScreen, outcome_summary

        if all(outcome.expired for outcome in outcomes):
            self.notify(outcome_summary(outcomes), markup=False)
            return
        self.app.push_screen(BulkDeleteOutcomeScreen(outcomes, reasons))

    # -- rotating -------------------------------------------------------------------------
    # R (or the palette, or the details view): the dialog creates the new key; it is shown
    # once; then, if the user kept "expire the old key" ticked, the old key is expired. One
    # create and one expire, no list: the table is updated from the answers.

    def action_rotate(self) -> None:
        old = self.table.highlighted_key
        if old is None or not self.state.offers_keys:
            return
        # A rotation creates a key, then expires the old one: both must be allowed.
        if self._refuse(self._may(Action.CREATE)) or self._refuse(self._may(Action.EXPIRE, old)):
            return
        client = self.host.backend.client
        try:  # the whole flow, before anything is made (see action_create)
            from oz_tui.tui.screens import new_key_flow

            new_key_flow.load(new_key_flow.ROTATE_MODULES)
            from oz_tui.tui.screens.rotate_key import RotateKeyScreen
        except ImportError as error:
            self._code_changed(error)
            return

        teams = self._account.teams if self._account is not None else None
        new_key_flow.rotate_flow(
            self.app,
            RotateKeyScreen(
                old, new_key_flow.replacement_of(old, client.create_key), teams=teams,
                clock=self.host.clock,
            ),
            clearer=self._clipboard_clearer,
            take_back=client.expire_key,
            then=lambda new, expire_old: self._replacement_saved(old, new, expire_old),
        )

    def _replacement_saved(self, old: ApiKey, new: ApiKey, expire_old: bool) -> None:
        self.table.add_key(new, self.host.clock())
        self.table.focus()
        if expire_old:
            self._deleting[self.expire_replaced_key(old)] = old
            self._sync()
            return
        self.notify(
            f"Rotated “{safe_text(old.name, max_length=60)}”. The old key "
            f"({safe_text(old.masked)}) is still active: delete it (d) once nothing uses it.",
            title="API key rotated",
            timeout=10,
            markup=False,
        )

    @work(group="delete", exit_on_error=False)
    async def expire_replaced_key(self, old: ApiKey) -> None:
        from oz_tui.core.rotation import still_active_message

        try:
            await self.host.backend.client.expire_key(old.uid)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a toast, never a traceback
            if not isinstance(error, OzError):
                log.error("expiring a rotated key failed unexpectedly", exc_info=error)
            message = still_active_message(old, describe_error(error))
            self.notify(
                message[:1].upper() + message[1:],
                title="Old key not expired",
                severity="error",
                timeout=20,
                markup=False,
            )
            return
        self.table.remove_key(old.uid)
        self.notify(
            f"Rotated “{safe_text(old.name, max_length=60)}”: the old key "
            f"({safe_text(old.masked)}) is expired.",
            title="API key rotated",
            markup=False,
        )

    def action_stop_waiting(self) -> None:
        """Esc while requests are in flight: stop waiting for them and say what that means."""
        loading = bool(self._in_flight("load"))
        deleting = [key for worker, key in self._deleting.items() if worker.state in _IN_FLIGHT]
        bulk = [
            keys for worker, keys in self._bulk_deleting.items() if worker.state in _IN_FLIGHT
        ]
        for group in _NETWORK_GROUPS:
            self.workers.cancel_group(self, group)
        self._deleting.clear()
        self._bulk_deleting.clear()
        for keys in bulk:
            self.notify(
                STOPPED_BULK_DELETING.format(count=len(keys)),
                title="Delete",
                severity="warning",
                timeout=10,
                markup=False,
            )
        if loading:
            title = "Stopped refreshing:" if self.table.loaded else "Stopped loading:"
            detail = STOPPED_LOADING + (
                " The list below is from the last successful refresh; press r to try again."
                if self.table.loaded
                else " Press r to try again."
            )
            self.banner.show_error(title, detail)
            self.state = PageState.READY if self.table.loaded else PageState.FAILED
        for key in deleting:
            self.notify(
                STOPPED_DELETING.format(name=safe_text(key.name, max_length=60)),
                title="Delete",
                severity="warning",
                timeout=10,
                markup=False,
            )
        self._sync()

    def action_refresh(self) -> None:
        self.load_keys()

    def action_search(self) -> None:
        self.search_box.focus()

    def action_toggle_mark(self, _listed: bool = True) -> None:
        self.table.toggle_mark()

    def action_mark_visible(self) -> None:
        self.table.mark_visible()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()

    def action_clear_search(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        with self.search_box.prevent(Input.Changed):
            self.search_box.value = ""
        self.table.filter("")

    def action_leave_search(self) -> None:
        if self.table.visible_keys:
            self.table.focus()
        else:
            self.set_focus(None)

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()

    def _code_changed(self, error: ImportError) -> None:
        """A dialog's code is gone or broken on disk (an upgrade under the running panel):
        say so in one line and keep running."""
        self.app.notify(
            "oz-keys was upgraded or changed on disk while running: restart it "
            f"({type(error).__name__}: {error.name or error})",
            severity="error", markup=False,
        )

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()

    def action_help(self) -> None:
        try:
            from oz_tui.tui.screens.help import HelpScreen
        except ImportError as error:
            self._code_changed(error)
            return

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
