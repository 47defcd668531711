"""The frame every dialog of the panel shares: centred, a bordered `#dialog` box, buttons on the
right. Subclasses set only what differs (width, border colour, padding, their own parts)."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class DialogScreen(ModalScreen[ResultType]):
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
