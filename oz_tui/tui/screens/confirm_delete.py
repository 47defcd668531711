"""Confirms deleting a key. Warp's page deletes on one click; this project always asks."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from oz_tui.api.models import ApiKey
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.dialog import DialogScreen

CONSEQUENCES = (
    "Deletion is immediate and cannot be undone. Anything still using this key "
    "(scripts, CI jobs, agents) loses access."
)


def delete_question(key: ApiKey) -> Text:
    """`Delete API key "<name>" (wk-**abcd)?`, with the server's strings shown literally."""
    return Text.assemble(
        "Delete API key “",
        literal(key.name, "bold", max_length=120),
        "” (",
        literal(key.masked),
        ")?",
    )


class ConfirmDeleteScreen(DialogScreen[bool]):
    """Asks whether to delete `key`. Dismisses with True to delete, False to keep it.

    Cancel has focus, so a stray Enter keeps the key (the same default as Warp's CLI).
    """

    AUTO_FOCUS = "#cancel"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Delete"),
        Binding("n,escape", "dismiss(False)", "Cancel"),
    ]

    DEFAULT_CSS = """
    ConfirmDeleteScreen > #dialog {
        width: 70;
        border: thick $error;
        padding: 1 2 0 2;
    }
    ConfirmDeleteScreen #consequences {
        margin-top: 1;
        color: $text-muted;
    }
    """

    def __init__(self, key: ApiKey) -> None:
        super().__init__()
        self._key = key

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(delete_question(self._key), id="question")
            yield Static(CONSEQUENCES, id="consequences", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Delete key", id="delete", variant="error")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#delete")
    def _delete(self) -> None:
        self.dismiss(True)
