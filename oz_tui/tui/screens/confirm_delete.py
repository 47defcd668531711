"""Confirms deleting a key. Warp's page deletes on one click; this project always asks."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from oz_tui.core.models import ApiKey
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.dialog import DialogScreen

CONSEQUENCES = (
    "Deletion is immediate and cannot be undone. Anything still using this key "
    "(scripts, CI jobs, agents) loses access."
)
#: Said when the key is the one oz-keys signs in with (`OzClient.is_credential`).
CREDENTIAL_IN_USE_WARNING = (
    "This is the key oz-keys is signed in with. Once it is deleted, this panel loses access "
    "to your keys: you will have to quit and start oz-keys again with another key."
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


class DeleteConfirmation(DialogScreen[bool]):
    """The layout every delete confirmation shares: the question, what it is about, what
    deleting does, then Cancel and Delete. Dismisses with True to delete, False to keep.

    Cancel has focus, so a stray Enter keeps the key (the same default as Warp's CLI).
    Subclasses give the question, the parts under it and the labels.
    """

    AUTO_FOCUS = "#cancel"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Delete"),
        Binding("n,escape", "dismiss(False)", "Cancel"),
    ]

    DEFAULT_CSS = """
    DeleteConfirmation > #dialog {
        width: 70;
        border: thick $error;
        padding: 1 2 0 2;
    }
    DeleteConfirmation .in-use {
        margin-top: 1;
        color: $text-error;
        text-style: bold;
    }
    DeleteConfirmation #consequences {
        margin-top: 1;
        color: $text-muted;
    }
    """

    #: What deleting does to anything still using the key(s).
    CONSEQUENCES: ClassVar[str]

    def question(self) -> Text:
        raise NotImplementedError

    def delete_label(self) -> str:
        """The Delete button's label."""
        raise NotImplementedError

    def compose_details(self) -> ComposeResult:
        """What goes between the question and the consequences (a list, warnings)."""
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question(), id="question")
            yield from self.compose_details()
            yield Static(self.CONSEQUENCES, id="consequences", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.delete_label(), id="delete", variant="error")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#delete")
    def _delete(self) -> None:
        self.dismiss(True)


class ConfirmDeleteScreen(DeleteConfirmation):
    """Asks whether to delete `key`. Dismisses with True to delete, False to keep it."""

    CONSEQUENCES = CONSEQUENCES

    def __init__(self, key: ApiKey, *, credential_in_use: bool = False) -> None:
        """
        Args:
            key: The key to delete.
            credential_in_use: It is the key oz-keys signs in with: say so, plainly.
        """
        super().__init__()
        self._key = key
        self._credential_in_use = credential_in_use

    def question(self) -> Text:
        return delete_question(self._key)

    def delete_label(self) -> str:
        return "Delete key"

    def compose_details(self) -> ComposeResult:
        if self._credential_in_use:
            yield Static(
                CREDENTIAL_IN_USE_WARNING, id="credential-in-use", classes="in-use", markup=False
            )
