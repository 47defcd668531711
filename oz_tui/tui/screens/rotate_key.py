"""The "Rotate API key" dialog: says what the new key will be, asks whether to expire the old one
afterwards (yes by default), and creates the new key in a worker.

The dialog does only the create. The rotate flow (`new_key_flow`) shows the new key once ("Save
your key"), and then the page, if asked, expires the old key: so the secret is out before
anything is taken away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Select, Static

from oz_tui.core.errors import OzError
from oz_tui.core.models import ApiKey, Clock, CreatedKey, Expiration, Team
from oz_tui.core.display import date_label
from oz_tui.core.rotation import (
    Owner,
    RotationError,
    TeamChoiceNeeded,
    lifetime,
    lifetime_words,
    owner_of,
    same_lifetime,
)
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.request_dialog import RequestDialog, failure_text

CreateReplacement = Callable[[Owner, "Expiration | datetime"], Awaitable[CreatedKey]]
"""`create(owner, expiration)`: creates the new key (named like the old one)."""

EXPIRE_OLD_LABEL = "Expire the old key once the new one is shown"
EXPIRE_OLD_HINT = (
    "Anything still using the old key then loses access. Untick to keep it for a staged "
    "roll-out (delete it later with d)."
)
SHOWN_ONCE = "The new key is shown once, in the next dialog."
NOTHING_CHANGED = "Nothing changed: the old key is still active."
TEAM_PROMPT = "Choose the old key's team"
TEAM_CHOICE_HINT = "Warp's key list doesn't say which team a Team key belongs to: choose it."


@dataclass(frozen=True)
class Rotation:
    """What the dialog dismisses with: the new key (with its secret, for the show-once dialog)
    and whether to expire the old key afterwards."""

    created: CreatedKey
    expire_old: bool

    def __repr__(self) -> str:
        return f"Rotation(created={self.created!r}, expire_old={self.expire_old})"


def expiry_words(old: ApiKey, now: datetime) -> Text:
    """The new key's expiry as the dialog states it, or why the lifetime can't be repeated."""
    if lifetime(old) is None:
        return Text("Never, like the old key")
    expires = same_lifetime(old, now)
    assert isinstance(expires, datetime)
    return Text(f"{date_label(expires)} ({lifetime_words(old)} from now: the old key's lifetime)")


class RotateKeyScreen(RequestDialog[Rotation]):
    """Rotates `old`: confirms, then creates its replacement. Dismisses with a `Rotation`, or
    None when cancelled. A failed create stays inside the dialog (nothing changed)."""

    AUTO_FOCUS = "#rotate"
    SUBMIT_ID = "#rotate"
    SUBMIT_LABEL = "Rotate key"
    PENDING_LABEL = "Rotating…"
    RETRY_FOCUS = "#rotate"
    WORKER_GROUP = "rotate-key"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    DEFAULT_CSS = """
    RotateKeyScreen > #dialog {
        width: 76;
        border: thick $warning;
        padding: 1 2 0 2;
    }
    RotateKeyScreen #plan {
        margin-top: 1;
        height: auto;
    }
    RotateKeyScreen .hint, RotateKeyScreen #shown-once {
        color: $text-muted;
    }
    RotateKeyScreen #shown-once, RotateKeyScreen #expire-old {
        margin-top: 1;
    }
    RotateKeyScreen #expire-old {
        border: none;
        padding: 0;
        background: $surface;
    }
    RotateKeyScreen #problem {
        color: $text-error;
        margin-top: 1;
    }
    """

    def __init__(
        self,
        old: ApiKey,
        create: CreateReplacement,
        *,
        teams: tuple[Team, ...] | None,
        clock: Clock,
    ) -> None:
        """
        Args:
            old: The key to replace.
            create: The backend call.
            teams: The account's teams; None when the account couldn't be loaded.
            clock: "Now", for the new key's expiry.
        """
        super().__init__()
        self._old = old
        self._create = create
        self._teams = teams
        self._clock = clock
        # Why this key can't be rotated (None when it can); a team choice is not a problem.
        self._problem: str | None = None
        self._team_choices: tuple[Team, ...] = ()
        self._owner: Owner | None = None
        try:
            lifetime(old)
            self._owner = owner_of(old, teams)
        except TeamChoiceNeeded as needed:
            self._team_choices = needed.teams
            self.AUTO_FOCUS = "#team"  # Rotate stays disabled until a team is chosen
        except RotationError as error:
            self._problem = error.message[:1].upper() + error.message[1:] + "."

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        old = self._old
        with Vertical(id="dialog"):
            yield Static("Rotate API key", id="title", markup=False)
            yield Static(
                Text.assemble(
                    "Replace “",
                    literal(old.name, "bold", max_length=120),
                    "” (",
                    literal(old.masked),
                    ") with a new key.",
                ),
                id="question",
            )
            yield Static(self._plan(), id="plan")
            if self._team_choices:
                yield Select(
                    [(literal(team.name, max_length=60), team.uid) for team in self._team_choices],
                    prompt=TEAM_PROMPT,
                    id="team",
                )
                yield Static(TEAM_CHOICE_HINT, classes="hint", markup=False)
            if self._problem is not None:
                yield Static(self._problem, id="problem", markup=False)
            yield Static(SHOWN_ONCE, id="shown-once", markup=False)
            yield Checkbox(EXPIRE_OLD_LABEL, value=True, id="expire-old")
            yield Static(EXPIRE_OLD_HINT, classes="hint", markup=False)
            yield Static("", id="failure", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(
                    self.SUBMIT_LABEL, id="rotate", variant="warning", disabled=not self.can_submit()
                )

    def _plan(self) -> Text:
        old = self._old
        if self._owner is not None:
            owner = Text(self._owner.label)
        elif self._team_choices:
            owner = Text("Team (choose below)")
        else:
            owner = Text(old.scope.value)
        try:
            expires = expiry_words(old, self._clock())
        except RotationError:
            expires = Text("unknown")
        plan = Text()
        for label, value in (
            ("Name     ", literal(old.name, max_length=120)),
            ("Type     ", owner),
            ("Expires  ", expires),
        ):
            plan.append(label, style="bold")
            plan.append_text(value)
            plan.append("\n")
        plan.rstrip()
        return plan

    # -- reading the form -----------------------------------------------------------------

    def _chosen_owner(self) -> Owner | None:
        if self._owner is not None:
            return self._owner
        if not self._team_choices:
            return None
        value = self.query_one("#team", Select).value
        if not isinstance(value, str):
            return None
        return owner_of(self._old, self._team_choices, value)

    def can_submit(self) -> bool:
        if self._problem is not None:
            return False
        if self._owner is not None:
            return True
        return bool(self._team_choices) and self.is_mounted and self._chosen_owner() is not None

    # -- reacting ---------------------------------------------------------------------------

    @on(Select.Changed, "#team")
    def _team_chosen(self) -> None:
        self.sync_submit_button()

    @on(Button.Pressed, "#rotate")
    def _rotate_pressed(self) -> None:
        self.action_rotate()

    def action_rotate(self) -> None:
        owner = self._chosen_owner()
        if self._pending or owner is None or self._problem is not None:
            return
        expire_old = self.query_one("#expire-old", Checkbox).value
        self.send(lambda: self._create_replacement(owner, expire_old))

    async def _create_replacement(self, owner: Owner, expire_old: bool) -> Rotation:
        created = await self._create(owner, same_lifetime(self._old, self._clock()))
        return Rotation(created, expire_old)

    def failure_text(self, error: Exception) -> Text:
        text = failure_text(error)
        if isinstance(error, OzError) and not error.may_have_succeeded:
            text.append(" " + NOTHING_CHANGED)
        return text
