"""Error states: a banner over the table for failed refreshes, a panel for a refused credential."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from oz_tui.tui.literal import literal

AUTH_TITLE = "Can't sign in"
AUTH_FIX = (
    "To fix it, set WARP_API_KEY to a valid API key (or pass --api-key), "
    "then press r to retry."
)


class RetryRequested(Message):
    """The user pressed a Retry button."""


class ErrorBanner(Horizontal, can_focus=False):
    """"⚠ Couldn't refresh: <message>  [Retry]". The table below keeps its last good rows."""

    DEFAULT_CSS = """
    ErrorBanner {
        height: auto;
        display: none;
        border: round $error;
        padding: 0 1;
        margin-bottom: 1;
    }
    ErrorBanner.-shown {
        display: block;
    }
    ErrorBanner > #banner-message {
        width: 1fr;
        height: auto;
        content-align-vertical: middle;
    }
    ErrorBanner > Button {
        margin-left: 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="banner-message")
        yield Button("Retry", id="banner-retry", compact=True)

    def show_error(self, title: str, message: str) -> None:
        text = Text.assemble(("⚠ ", "bold"), (title, "bold"), " ")
        text.append_text(literal(message, max_length=400))
        self.query_one("#banner-message", Static).update(text)
        self.add_class("-shown")

    def clear(self) -> None:
        self.remove_class("-shown")
        self.query_one("#banner-message", Static).update("")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    @property
    def message_plain(self) -> str:
        return str(self.query_one("#banner-message", Static).content)

    @on(Button.Pressed, "#banner-retry")
    def _retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(RetryRequested())


class AuthPanel(Vertical, can_focus=False):
    """What is wrong with the credential, and how to fix it. Replaces the table."""

    DEFAULT_CSS = """
    AuthPanel {
        height: auto;
        display: none;
        border: round $error;
        border-title-style: bold;
        padding: 1 2;
    }
    AuthPanel.-shown {
        display: block;
    }
    AuthPanel > Static {
        height: auto;
        margin-bottom: 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="auth-message")
        yield Static(AUTH_FIX, id="auth-fix", markup=False)
        yield Button("Retry", id="auth-retry", compact=True)

    def on_mount(self) -> None:
        self.border_title = AUTH_TITLE

    def show_error(self, message: str) -> None:
        text = Text.assemble(("What's wrong: ", "bold"))
        text.append_text(literal(message, max_length=400))
        self.query_one("#auth-message", Static).update(text)
        self.add_class("-shown")

    def clear(self) -> None:
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    @property
    def message_plain(self) -> str:
        return str(self.query_one("#auth-message", Static).content)

    @on(Button.Pressed, "#auth-retry")
    def _retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(RetryRequested())
