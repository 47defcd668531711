"""A key's details: everything the list knows about it, exactly, and what to do with it.

Opened with Enter on a row or a click on its name. Times are exact, in the local zone and UTC,
with the relative time beside them; the badges (`oz_tui.core.hygiene`) say what needs attention.
From here: copy the uid, rotate, delete. The dialog only says what was chosen (it dismisses with
`DetailsChoice`); the page does the work, so the same confirmations apply as from the table.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, tzinfo
from typing import Callable, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.display import exact_time, relative_time
from oz_tui.core.hygiene import Badge, BadgeKind, badges, days_left, time_left
from oz_tui.core.keymap import ACTIONS
from oz_tui.tui.clipboard import ClipboardResult, copy_in_thread
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.dialog import DialogScreen

TITLE = "API key details"
UID_COPIED = "Uid sent to your terminal's clipboard (OSC 52)"
IN_USE_NOTE = "oz-keys is signed in with this key: deleting it signs you out."

CopyText = Callable[[str], ClipboardResult]


class DetailsChoice(str, enum.Enum):
    """What the user chose in the details dialog (None: closed)."""

    ROTATE = "rotate"
    DELETE = "delete"


def scope_label(key: ApiKey, team_name: str | None = None) -> str:
    """"Personal", "Team · Platform" (when the team is known), "Agent · builder"."""
    if key.scope is KeyScope.AGENT and key.agent_name:
        return f"Agent · {key.agent_name}"
    if key.scope is KeyScope.TEAM and team_name:
        return f"Team · {team_name}"
    return key.scope.value


def when_text(when: datetime | None, now: datetime, zone: tzinfo | None, never: str) -> Text:
    """Exact local time and UTC, then the relative time; or `never`, dimmed."""
    if when is None:
        return Text(never, style="dim")
    return Text.assemble(exact_time(when, zone), ("  (" + relative_time(when, now) + ")", "dim"))


def days_left_text(key: ApiKey, now: datetime) -> str:
    days = days_left(key, now)
    left = time_left(key, now)
    if days is None or left is None:
        return "No expiry"
    if left < timedelta(0):
        return "Expired"
    if days == 0:
        return "Expires within a day"
    return f"{days} day{'' if days == 1 else 's'}"


class KeyDetailsScreen(DialogScreen[DetailsChoice | None]):
    """One key's details. Dismisses with a `DetailsChoice`, or None (Esc: back to the row)."""

    AUTO_FOCUS = "#close"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy_uid", "Copy uid"),
        # The page's ids: a [keymap] that moves rotate or delete moves them here too.
        Binding(ACTIONS["rotate"].keys, "rotate", "Rotate", id="rotate"),
        Binding(ACTIONS["delete"].keys, "delete", "Delete", id="delete"),
        Binding("escape,q", "dismiss(None)", "Close"),
    ]

    DEFAULT_CSS = """
    KeyDetailsScreen > #dialog {
        width: 96;
    }
    KeyDetailsScreen #title {
        padding: 1 0;
    }
    KeyDetailsScreen #note {
        color: $text-warning;
        margin-top: 1;
    }
    """

    def __init__(
        self,
        key: ApiKey,
        now: datetime,
        *,
        zone: tzinfo | None = None,
        team_name: str | None = None,
        can_rotate: bool = True,
        in_use: bool = False,
        failure: str | None = None,
        copy: CopyText | None = None,
    ) -> None:
        """
        Args:
            key: The key shown.
            now: For relative times, days left and badges.
            zone: The zone exact times are shown in, besides UTC; None: this machine's.
            team_name: The Team key's team, when known.
            can_rotate: False hides Rotate (the page can't rotate).
            in_use: The key is the credential oz-keys is signed in with.
            failure: Why deleting this (marked) key failed, if it did.
            copy: Copies text to the system clipboard, in a thread worker (tests inject one);
                default: `copy_to_system`. OSC 52 is always sent, by the screen.
        """
        super().__init__()
        self._key = key
        self._now = now
        self._zone = zone
        self._team_name = team_name
        self._can_rotate = can_rotate
        self._in_use = in_use
        self._failure = failure
        self._copy = copy

    @property
    def key(self) -> ApiKey:
        return self._key

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(TITLE, id="title", markup=False)
            yield Static(self._fields(), id="fields")
            if self._in_use:
                yield Static(IN_USE_NOTE, id="note", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Copy uid", id="copy-uid")
                if self._can_rotate:
                    yield Button("Rotate", id="rotate")
                yield Button("Delete", id="delete", variant="error")
                yield Button("Close", id="close", variant="primary")

    def _fields(self) -> Table:
        key, now, zone = self._key, self._now, self._zone
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        rows: list[tuple[str, Text]] = [
            ("Name", literal(key.name)),
            ("Uid", literal(key.uid)),
            ("Key", literal(key.masked)),
            ("Scope", literal(scope_label(key, self._team_name))),
        ]
        if key.agent_uid:
            rows.append(("Agent uid", literal(key.agent_uid)))
        rows += [
            ("Created", when_text(key.created_at, now, zone, "Unknown")),
            ("Last used", when_text(key.last_used_at, now, zone, "Never")),
            ("Expires", when_text(key.expires_at, now, zone, "Never")),
            ("Days left", Text(days_left_text(key, now))),
            ("Badges", self._badges()),
        ]
        if self._failure:
            rows.append(("Delete failed", literal(self._failure, "bold")))
        for label, value in rows:
            table.add_row(Text(label), value)
        return table

    def _badges(self) -> Text:
        found = badges(self._key, self._now)
        if not found:
            return Text("none", style="dim")
        text = Text()
        for index, badge in enumerate(found):
            if index:
                text.append(" ")
            text.append(f" {badge.label} ", style=self._badge_style(badge))
        return text

    def _badge_style(self, badge: Badge) -> str:
        variables = self.app.theme_variables
        if badge.kind is BadgeKind.EXPIRED:
            color = variables.get("error", "")
        elif badge.kind is BadgeKind.EXPIRING:
            color = variables.get("warning", "")
        else:
            color = variables.get("secondary", "")
        return f"bold reverse {color}".strip()

    # -- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rotate":
            return self._can_rotate
        return True

    @on(Button.Pressed, "#copy-uid")
    def _copy_pressed(self) -> None:
        self.action_copy_uid()

    @on(Button.Pressed, "#rotate")
    def _rotate_pressed(self) -> None:
        self.action_rotate()

    @on(Button.Pressed, "#delete")
    def _delete_pressed(self) -> None:
        self.action_delete()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.dismiss(None)

    def action_copy_uid(self) -> None:
        app = self.app

        def done(result: ClipboardResult) -> None:
            if result.system:
                message = "Uid copied to the clipboard."
            else:
                message = UID_COPIED + "."
            app.notify(message, title="Uid", markup=False)

        copy_in_thread(self, self._key.uid, done, copy=self._copy)

    def action_rotate(self) -> None:
        if self._can_rotate:
            self.dismiss(DetailsChoice.ROTATE)

    def action_delete(self) -> None:
        self.dismiss(DetailsChoice.DELETE)
