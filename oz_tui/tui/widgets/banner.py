"""Error states: a banner over the table for failed refreshes, a panel for a refused credential."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from oz_tui.core.errors import NO_API_KEY, WHERE_TO_CREATE
from oz_tui.config import ENV_API_KEY
from oz_tui.tui.literal import literal

AUTH_TITLE = "Can't sign in"
SIGNED_OUT_TITLE = "Signed out"


def credential_fix(source: str | None) -> str:
    """How to fix a refused credential, naming where it came from. The panel reads the
    credential once, at start, so the fix is always to start again with another one."""
    if source == "--api-key":
        return (
            "The API key came from the --api-key flag. To fix it, quit (q) and start oz-keys "
            f"again with a valid key ({WHERE_TO_CREATE}); the {ENV_API_KEY} environment "
            "variable is safer than the flag."
        )
    if source == ENV_API_KEY:
        return (
            f"The API key came from the {ENV_API_KEY} environment variable. To fix it, quit (q), "
            f"set {ENV_API_KEY} to a valid key ({WHERE_TO_CREATE}) and start oz-keys again."
        )
    return (
        f"{NO_API_KEY}. To sign in, quit (q), set {ENV_API_KEY} to an API key "
        f"({WHERE_TO_CREATE}) and start oz-keys again."
    )


def signed_out_fix(source: str | None) -> str:
    """What to do after deleting the key the panel signs in with."""
    where = "the --api-key flag" if source == "--api-key" else ENV_API_KEY
    return (
        f"To go on, quit (q), set {ENV_API_KEY} to another API key ({WHERE_TO_CREATE}) and "
        f"start oz-keys again. (This session's key came from {where}.)"
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
    """What is wrong with the credential, and how to fix it. Replaces the table.

    No Retry button: the panel reads its credential once, at start, so retrying with the same
    one cannot fix it; the fix says where it came from and how to start again."""

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
        yield Static("", id="auth-fix", markup=False)

    def on_mount(self) -> None:
        self.border_title = AUTH_TITLE

    def show_error(self, message: str, fix: str, *, title: str = AUTH_TITLE) -> None:
        text = Text.assemble(("What's wrong: ", "bold"))
        text.append_text(literal(message, max_length=400))
        self.query_one("#auth-message", Static).update(text)
        self.query_one("#auth-fix", Static).update(fix)
        self.border_title = title
        self.add_class("-shown")

    def clear(self) -> None:
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    @property
    def message_plain(self) -> str:
        return str(self.query_one("#auth-message", Static).content)

    @property
    def fix_plain(self) -> str:
        return str(self.query_one("#auth-fix", Static).content)


LOCAL_NOTICE = (
    "Keys of a local key service on this machine: they don't work with Warp. For your real "
    f"keys, set {ENV_API_KEY} to a key from Warp (Settings > Cloud platform > Oz Cloud API "
    "Keys). --local hides this note."
)


class LocalServiceNotice(Horizontal, can_focus=False):
    """Says, on the page, that the keys are a local sandbox, until dismissed.

    Shown only when the local service was picked because nothing was configured (a first run):
    choosing `--local` or `--demo` says as much already. *Got it* posts `Dismissed`; the CLI
    remembers it for the data dir. Compact (no border, no margin): on a small terminal the
    keys must still show under it.
    """

    class Dismissed(Message):
        """*Got it* was pressed."""

    DEFAULT_CSS = """
    LocalServiceNotice {
        height: auto;
        background: $warning 15%;
        padding: 0 1;
    }
    LocalServiceNotice > #local-notice-text {
        width: 1fr;
        height: auto;
    }
    LocalServiceNotice > Button {
        margin-left: 1;
        width: auto;
        min-width: 0;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(LOCAL_NOTICE, id="local-notice-text", markup=False)
        yield Button("Got it", id="local-notice-dismiss", compact=True)

    @on(Button.Pressed, "#local-notice-dismiss")
    def _dismiss(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Dismissed())
        self.remove()
