"""The status line under the table: where the keys come from, as whom, and how many."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from oz_tui.core.models import Account
from oz_tui.tui.literal import literal


def source_text(source: str, *, is_local: bool, account: Account | None) -> Text:
    """"app.warp.dev · signed in as ada@example.com, personal key", "Local key service · …"."""
    text = literal(source)
    if account is None:
        return text
    if is_local:
        if not source.startswith("Demo data"):
            text.append(" · ")
            text.append_text(literal(account.label))
        return text
    text.append(" · signed in as ")
    text.append_text(literal(account.label, "bold"))
    text.append(f", {account.credential_kind}")
    return text


class StatusLine(Horizontal, can_focus=False):
    """Left: source and identity. Right: a short summary (counts, sort)."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        width: 1fr;
    }
    StatusLine > #status-source {
        width: 1fr;
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    StatusLine > #status-summary {
        width: auto;
        height: 1;
        padding-left: 2;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="status-source", markup=False)
        yield Static("", id="status-summary", markup=False)

    def show_source(self, text: Text) -> None:
        _update(self.query_one("#status-source", Static), text)

    def show_summary(self, text: str) -> None:
        _update(self.query_one("#status-summary", Static), Text(text))

    @property
    def source_plain(self) -> str:
        return str(self.query_one("#status-source", Static).content)

    @property
    def summary_plain(self) -> str:
        return str(self.query_one("#status-summary", Static).content)


def _update(static: Static, text: Text) -> None:
    # Unchanged text is left alone: an update always costs a layout and a repaint.
    current = static.content
    if not (isinstance(current, Text) and current == text and current.style == text.style):
        static.update(text)
