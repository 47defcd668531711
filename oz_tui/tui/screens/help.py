"""The help overlay: the panel's key bindings and what each column means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.widgets import Static

from oz_tui.core.display import EXPIRING_SOON
from oz_tui.core.hygiene import FREE_TEXT_HELP, QUALIFIERS
from oz_tui.core.keymap import EVERY_ACTION
from oz_tui.tui.screens.dialog import DialogScreen

#: The help's key list, in its order: a page action from oz_tui/core/keymap.py's table (its keys as
#: the keymap in effect has them, its description) or (keys, what they do) for keys outside the
#: page.
KEY_ROWS: tuple[str | tuple[str, str], ...] = (
    "create",
    "search",
    "clear_search",
    "details",
    ("↑ ↓  j k", "Move in the table; g / G (Home / End) to the first / last key"),
    "mark",
    "mark_all",
    "clear_marks",
    "delete",
    "rotate",
    "refresh",
    "sort",
    "reverse_sort",
    ("c", "Copy the new key (in the \"Save your key\" dialog)"),
    ("Enter / Esc", "Submit / cancel a dialog"),
    "help",
    ("ctrl+p", "Command palette"),
    "quit",
)
#: Keys an action has besides its rebindable ones (bound by the app, not the page).
EXTRA_KEYS = {"quit": "ctrl+q"}


def key_label(key: str) -> str:
    """A Textual key as the help writes it: `?`, `+`, `Delete`, `Space`, `F5`, `ctrl+f`."""
    modifiers, base = Binding(key, "").parse_key()
    label = format_key(base)  # a character for its name: question_mark -> ?
    if len(label) != 1:
        label = base.capitalize()  # a named key, in full (format_key shortens some: del)
    return "+".join((*modifiers, label))


def action_key_labels(action_id: str, keymap: Mapping[str, str]) -> list[str]:
    """The keys of the page's action `action_id` as the keymap in effect has them, as the help
    and the command palette write them."""
    action = EVERY_ACTION[action_id]
    keys = keymap.get(action_id) or action.keys
    labels = [key_label(key) for key in keys.split(",")]
    if action_id in EXTRA_KEYS:
        labels.append(EXTRA_KEYS[action_id])
    return labels


def key_rows(keymap: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(keys, what they do), each action's keys as the keymap in effect has them."""
    rows = []
    for row in KEY_ROWS:
        if isinstance(row, tuple):
            rows.append(row)
            continue
        rows.append(("  ".join(action_key_labels(row, keymap)), EVERY_ACTION[row].help))
    return tuple(rows)


#: (column, what it shows).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("●  !", "A marked key (Space); ! marks one whose delete failed (see its details)"),
    ("Name", "The name given when the key was created"),
    ("Key", "wk-** and the key's last four characters; the full key is never listed"),
    (
        "Scope",
        "Personal (acts as you), Team (belongs to a team), or Agent · NAME (runs as that "
        "cloud agent)",
    ),
    ("Created", "When the key was created"),
    ("Last used", "When the key last authenticated, or Never"),
    (
        "Expires at",
        f"The expiry date (wide terminals: and time, UTC), or Never; \"soon\" marks a key "
        f"that expires within {EXPIRING_SOON.days} days",
    ),
    ("Uid", "The key's id (terminals from about 160 columns; always in its details)"),
)


def two_column_table(rows: tuple[tuple[str, str], ...], heading: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.title = heading
    table.title_style = "bold underline"
    table.title_justify = "left"
    for left, right in rows:
        table.add_row(Text(left), Text(right))
    return table


class HelpScreen(DialogScreen[None]):
    """Lists the key bindings and columns. Esc, ? or q closes it; dismisses with None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss(None)", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen > #dialog {
        width: 90;
    }
    HelpScreen #title {
        padding: 1 0;
    }
    HelpScreen #columns, HelpScreen #search-help {
        margin-top: 1;
    }
    HelpScreen #footer {
        color: $text-muted;
        padding: 1 0;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static("Help: Oz Cloud API keys", id="title", markup=False)
            keymap = getattr(self.app, "keymap", {})
            yield Static(two_column_table(key_rows(keymap), "Keys"), id="keys")
            yield Static(two_column_table(COLUMNS, "Columns"), id="columns")
            yield Static(two_column_table(QUALIFIERS, "Search"), id="search-help")
            yield Static(FREE_TEXT_HELP, id="free-text", markup=False)
            yield Static("Esc, ? or q closes this help.", id="footer", markup=False)
