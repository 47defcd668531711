"""Untrusted strings as Rich `Text`: never parsed as markup, never able to emit escapes."""

from __future__ import annotations

from typing import Any

from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Input

from oz_tui.core.sanitize import safe_text, visible


def literal(text: str, style: str = "", *, max_length: int | None = None) -> Text:
    """`text` shown exactly as a person should read it, whatever it contains."""
    return Text(safe_text(text, max_length=max_length), style=style, no_wrap=False)


class _Visible(Highlighter):
    """Draws an input's value with `visible` stand-ins, through Input's public `highlighter`.

    It reads the value from the input, not from the text it is handed: Rich drops some
    controls (BEL, BS, VT, FF, CR) from that text, and they must be seen, not lost (the cursor
    would drift). tests/tui/test_textual_seams.py fails loudly if Textual stops drawing the value
    through the highlighter.
    """

    def __init__(self, owner: Input, then: Highlighter | None) -> None:
        self._owner = owner
        self._then = then

    def highlight(self, text: Text) -> None:
        text.plain = visible(self._owner.value)
        if self._then is not None:
            self._then.highlight(text)


class LiteralInput(Input):
    """An `Input` that draws control, bidi and invisible characters as visible stand-ins.

    Textual's Input writes its value to the terminal as is, so a pasted ESC sequence (or a bidi
    override) would reach the terminal. The value itself is kept exactly as typed or pasted (the
    form decides what to do with it); only what is drawn changes, one character for one, so the
    cursor stays where it belongs.
    """

    def __init__(self, *args: Any, highlighter: Highlighter | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.highlighter = _Visible(self, highlighter)
