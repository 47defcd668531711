"""The frame every dialog of the panel shares: centred, a bordered `#dialog` box, buttons on the
right, the dialog's own keys in a footer. Subclasses set only what differs (width, border colour,
padding, their own parts)."""

from __future__ import annotations

from typing import TypeVar

from textual import events
from textual.reactive import Reactive
from textual.screen import ModalScreen

from oz_tui.tui.widgets.footer import KeysFooter

ResultType = TypeVar("ResultType")


class DialogScreen(ModalScreen[ResultType]):
    #: Below this many terminal rows, the dialog's inputs, choices and buttons go compact (one
    #: row each, no borders), so that the create dialog fits an 80x24 terminal without scrolling.
    COMPACT_BELOW_ROWS = 30

    DEFAULT_CSS = """
    DialogScreen {
        align: center middle;
    }
    DialogScreen > #dialog {
        max-width: 100%;
        height: auto;
        max-height: 100%;
        overflow-y: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 2;
    }
    DialogScreen #title {
        text-style: bold;
    }
    DialogScreen #buttons {
        height: auto;
        align-horizontal: right;
        margin: 1 0;
    }
    DialogScreen #buttons Button {
        margin-left: 2;
    }
    """

    def on_mount(self) -> None:
        # The dialog's own keys at the bottom, over the page's footer: those keys do nothing
        # while the dialog is open, so they must not be what the bottom row shows.
        self.mount(KeysFooter())
        self._fit_height(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_height(event.size.height)

    def _fit_height(self, rows: int) -> None:
        compact = rows < self.COMPACT_BELOW_ROWS
        for widget in self.query("#dialog Widget"):
            # Input, Button, RadioSet, Select and TextArea each have a `compact` reactive.
            if isinstance(getattr(type(widget), "compact", None), Reactive):
                widget.compact = compact  # type: ignore[attr-defined]
