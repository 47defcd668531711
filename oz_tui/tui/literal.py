"""Untrusted strings as Rich `Text`: never parsed as markup, never able to emit escapes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from oz_tui.core.sanitize import safe_text, visible


def literal(text: str, style: str = "", *, max_length: int | None = None) -> Text:
    """`text` shown exactly as a person should read it, whatever it contains."""
    return Text(safe_text(text, max_length=max_length), style=style, no_wrap=False)


class LiteralInput(Input):
    """An `Input` that draws control, bidi and invisible characters as visible stand-ins.

    Textual's Input writes its value to the terminal as is, so a pasted ESC sequence (or a bidi
    override) would reach the terminal. The value itself is kept exactly as typed or pasted (the
    form decides what to do with it); only what is drawn changes, one character for one, so the
    cursor stays where it belongs.
    """

    @property
    def _value(self) -> Text:
        if self.password:
            return super()._value
        text = Text(visible(self.value), no_wrap=True, overflow="ignore", end="")
        if self.highlighter is not None:
            text = self.highlighter(text)
        return text
