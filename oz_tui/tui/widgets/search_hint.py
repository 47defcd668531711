"""`SearchHint`: one line under the search box saying what the search couldn't read.

An unknown qualifier or a bad duration is a hint, never an error: the rest of the search still
filters. The hint quotes what was typed, so it is shown literally (never markup, no escapes).
"""

from __future__ import annotations

from textual.widgets import Static

from oz_tui.tui.literal import literal


class SearchHint(Static):
    """Hidden while the search is understood; shows `hygiene.Query.hint` otherwise."""

    DEFAULT_CSS = """
    SearchHint {
        height: auto;
        display: none;
        color: $text-warning;
        padding: 0 1;
    }
    SearchHint.-shown {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id, markup=False)
        self._hint = ""

    @property
    def hint(self) -> str:
        return self._hint

    def show_hint(self, hint: str) -> None:
        if hint == self._hint:
            return
        self._hint = hint
        self.update(literal(f"⚠ {hint}", max_length=300) if hint else "")
        self.set_class(bool(hint), "-shown")
