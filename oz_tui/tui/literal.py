"""Untrusted strings as Rich `Text`: never parsed as markup, never able to emit escapes."""

from __future__ import annotations

from rich.text import Text

from oz_tui.sanitize import safe_text


def literal(text: str, style: str = "", *, max_length: int | None = None) -> Text:
    """`text` shown exactly as a person should read it, whatever it contains."""
    return Text(safe_text(text, max_length=max_length), style=style, no_wrap=False)
