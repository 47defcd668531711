"""Deleting the marked keys: one confirmation listing them, then each key's outcome.

The confirmation names every key (up to `LISTED_MAX`, then how many more) and calls out the
credential oz-keys is signed in with. The outcome dialog appears when some deletes failed: each
key, deleted or not and why. Every name is shown literally.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from oz_tui.api.bulk import ExpireOutcome
from oz_tui.core.models import ApiKey
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.confirm_delete import DeleteConfirmation
from oz_tui.tui.screens.dialog import DialogScreen

#: Names listed in the confirmation; the rest are counted.
LISTED_MAX = 50
NAME_SHOWN_MAX = 80
CONSEQUENCES = (
    "Deletion is immediate and cannot be undone. Anything still using these keys "
    "(scripts, CI jobs, agents) loses access."
)
IN_USE_WARNING = "oz-keys is signed in with {name}: deleting it signs you out."


def count_noun(count: int) -> str:
    return f"{count} API key{'' if count == 1 else 's'}"


def key_line(key: ApiKey, prefix: str = "• ") -> Text:
    return Text.assemble(
        prefix, literal(key.name, "bold", max_length=NAME_SHOWN_MAX), "  ", literal(key.masked)
    )


class ConfirmBulkDeleteScreen(DeleteConfirmation):
    """Asks whether to delete `keys`. Dismisses with True to delete them all, False to keep them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Delete all"),
    ]

    DEFAULT_CSS = """
    ConfirmBulkDeleteScreen > #dialog {
        width: 80;
    }
    ConfirmBulkDeleteScreen #names {
        height: auto;
        max-height: 12;
        margin-top: 1;
    }
    """

    CONSEQUENCES = CONSEQUENCES

    def __init__(self, keys: Sequence[ApiKey], in_use: Sequence[ApiKey] = ()) -> None:
        """`keys` to delete; `in_use`: those among them oz-keys is signed in with."""
        super().__init__()
        self._keys = tuple(keys)
        self._in_use = tuple(in_use)

    def question(self) -> Text:
        return Text(f"Delete {count_noun(len(self._keys))}?")

    def delete_label(self) -> str:
        return f"Delete {count_noun(len(self._keys))}"

    def compose_details(self) -> ComposeResult:
        with VerticalScroll(id="names"):
            yield Static(self._names(), id="names-list")
        if self._in_use:
            # One widget for them all: ids are unique, and two keys can match the credential
            # (a listing shows only the last four characters).
            yield Static(self._in_use_warnings(), id="in-use", classes="in-use")

    def _in_use_warnings(self) -> Text:
        warnings = []
        for key in self._in_use:
            warning = Text("⚠ ")
            warning.append_text(literal(
                IN_USE_WARNING.format(name=f"“{key.name}” ({key.masked})"), max_length=200
            ))
            warnings.append(warning)
        return Text("\n").join(warnings)

    def _names(self) -> Text:
        in_use = {key.uid for key in self._in_use}
        lines = []
        for key in self._keys[:LISTED_MAX]:
            line = key_line(key)
            if key.uid in in_use:
                line.append("  (signed in with this key)", style="bold")
            lines.append(line)
        hidden = len(self._keys) - LISTED_MAX
        if hidden > 0:
            lines.append(Text(f"… and {hidden} more", style="dim"))
        return Text("\n").join(lines)


def outcome_summary(outcomes: Sequence[ExpireOutcome]) -> str:
    """"Deleted 3 of 4 API keys; 1 failed." / "Deleted 4 API keys."."""
    deleted = sum(outcome.expired for outcome in outcomes)
    failed = len(outcomes) - deleted
    if not failed:
        return f"Deleted {count_noun(deleted)}."
    return f"Deleted {deleted} of {count_noun(len(outcomes))}; {failed} failed."


class BulkDeleteOutcomeScreen(DialogScreen[None]):
    """Each key's outcome: deleted, or why not (those stay marked in the table)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss(None)", "Close"),
    ]

    DEFAULT_CSS = """
    BulkDeleteOutcomeScreen > #dialog {
        width: 90;
        border: thick $warning;
        padding: 1 2 0 2;
    }
    BulkDeleteOutcomeScreen #outcomes {
        height: auto;
        max-height: 16;
        margin-top: 1;
    }
    BulkDeleteOutcomeScreen #hint {
        margin-top: 1;
        color: $text-muted;
    }
    """

    def __init__(self, outcomes: Sequence[ExpireOutcome], reasons: dict[str, str]) -> None:
        """`reasons`: uid -> why that key's delete failed, as the page words it."""
        super().__init__()
        self._outcomes = tuple(outcomes)
        self._reasons = reasons

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(outcome_summary(self._outcomes), id="title", markup=False)
            with VerticalScroll(id="outcomes"):
                yield Static(self._lines(), id="outcome-list")
            yield Static(
                "The keys that weren't deleted stay marked (!). Nothing was retried: "
                "press d to try them again, or r to refresh first.",
                id="hint",
                markup=False,
            )
            with Horizontal(id="buttons"):
                yield Button("Close", id="close", variant="primary")

    def _lines(self) -> Text:
        # Failures first: they are what needs reading.
        ordered = sorted(self._outcomes, key=lambda outcome: outcome.expired)
        lines = []
        for outcome in ordered:
            if outcome.expired:
                line = key_line(outcome.key, "✓ ")
                line.append(" — deleted", style="dim")
            else:
                line = key_line(outcome.key, "✗ ")
                line.append(" — ")
                line.append_text(literal(self._reasons.get(outcome.key.uid, ""), max_length=300))
            lines.append(line)
        return Text("\n").join(lines)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)
