"""The "New API key" dialog: type, name, expiration; creates the key in a worker."""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Awaitable, Callable, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from oz_tui.api.errors import OzError
from oz_tui.api.models import (
    DEFAULT_KEY_NAME,
    MAX_KEY_NAME_LENGTH,
    CreatedKey,
    Expiration,
    KeyType,
    Team,
)
from oz_tui.tui.literal import LiteralInput, literal
from oz_tui.tui.screens.dialog import DialogScreen

CreateKey = Callable[[str, Expiration, str | None], Awaitable[CreatedKey]]
"""`create(name, expiration, team_id_or_None)`: the backend call the dialog makes."""

PERSONAL_HELP = (
    "Personal: runs authenticate as you and can use your personal base credits "
    "before your team's add-on credits."
)
TEAM_HELP = "Team: runs aren't tied to any user and draw only on the team's add-on credits."
NO_TEAM_REASON = "Your account has no team"
MAY_HAVE_SUCCEEDED = (
    "The key may have been created anyway: refresh the list to check before trying again."
)
STOPPED_WAITING = (
    "Stopped waiting for the server. The key may have been created: refresh the list to check "
    "before trying again."
)
#: The Cancel button while a create is in flight: it stops waiting (the outcome is then unknown).
STOP_LABEL = "Stop waiting"

#: Bidi embeddings/overrides/isolates: invisible, and they make a listed name read differently
#: from what it is, so they are refused with the control characters.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def name_problem(text: str) -> str | None:
    """Why `text` can't be a key name, or None when it can (blank is fine: it gets the default)."""
    if any(_is_control(char) for char in text):
        return "Name can't contain control characters (such as tabs, line breaks or escape codes)."
    length = len(text.strip())
    if length > MAX_KEY_NAME_LENGTH:
        return f"Name is too long: {length} characters, at most {MAX_KEY_NAME_LENGTH}."
    return None


def key_name(text: str) -> str:
    """The name to send: the trimmed text, or Warp's default when it's blank."""
    return text.strip() or DEFAULT_KEY_NAME


def _is_control(char: str) -> bool:
    return (
        unicodedata.category(char) == "Cc" or char in "\u2028\u2029" or char in _BIDI_CONTROLS
    )


def failure_text(error: Exception) -> Text:
    """What the dialog says when create fails: the error's own words, shown literally."""
    if isinstance(error, OzError):
        text = literal(error.message, max_length=500)
        if error.may_have_succeeded:
            text.append(" " + MAY_HAVE_SUCCEEDED)
        return text
    # Not one of ours: name its type only (its text is unknown) and assume the worst.
    return Text(f"Couldn't create the key ({type(error).__name__}). " + MAY_HAVE_SUCCEEDED)


class ChoiceSet(RadioSet, inherit_bindings=False):
    """A radio group where the arrow keys choose, as in native dialogs.

    Textual's RadioSet only moves a highlight with the arrows and needs Enter to choose; here
    Enter belongs to the form (it submits), so choosing happens on the arrows (or Space / a click).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "choose(1)", "Next choice", show=False),
        Binding("up,left", "choose(-1)", "Previous choice", show=False),
        Binding("space", "toggle_button", "Choose", show=False),
    ]

    def action_choose(self, step: int) -> None:
        if step > 0:
            self.action_next_button()
        else:
            self.action_previous_button()
        self.action_toggle_button()

    def on_mount(self) -> None:
        # RadioSet highlights its first enabled button when mounted, whichever is pressed;
        # move the highlight onto the pressed one once that has run.
        self.call_after_refresh(self._highlight_pressed)

    def _highlight_pressed(self) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index


class CreateKeyScreen(DialogScreen[CreatedKey | None]):
    """Collects a new key's type, name and expiration and creates it.

    Dismisses with the `CreatedKey` on success, or None when cancelled. Failures stay inside the
    dialog with every input kept, so the user can fix the name or simply try again.
    """

    AUTO_FOCUS = "#name"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Reached when focus is on a radio group (the Input and Buttons handle Enter themselves).
        Binding("enter", "submit", "Create key"),
    ]

    DEFAULT_CSS = """
    CreateKeyScreen > #dialog {
        width: 84;
    }
    CreateKeyScreen #title {
        padding: 1 0 0 0;
    }
    CreateKeyScreen .field-label {
        margin-top: 1;
        text-style: bold;
    }
    CreateKeyScreen ChoiceSet {
        layout: horizontal;
        width: 100%;
    }
    CreateKeyScreen ChoiceSet > RadioButton {
        width: auto;
        margin-right: 3;
    }
    CreateKeyScreen .hint {
        color: $text-muted;
    }
    CreateKeyScreen #name-problem {
        color: $text-error;
        display: none;
    }
    CreateKeyScreen #name-problem.-shown {
        display: block;
    }
    CreateKeyScreen #failure {
        color: $text-error;
        border: round $error;
        padding: 0 1;
        margin-top: 1;
        display: none;
    }
    CreateKeyScreen #failure.-shown {
        display: block;
    }
    """

    def __init__(
        self,
        create: CreateKey,
        *,
        teams: tuple[Team, ...],
        default_expiration: Expiration = Expiration.DAYS_90,
        default_key_type: KeyType = KeyType.PERSONAL,
        no_team_reason: str = NO_TEAM_REASON,
    ) -> None:
        """
        Args:
            create: The backend call.
            teams: The account's teams (the Team type is offered only with one).
            default_expiration: The preselected expiration.
            default_key_type: The preselected type (Personal when there is no team).
            no_team_reason: Why Team is unavailable when `teams` is empty.
        """
        super().__init__()
        self._create = create
        self._teams = tuple(teams)
        self._no_team_reason = no_team_reason
        self._default_expiration = default_expiration
        # Team can't be the default when there is no team to own the key.
        self._default_key_type = default_key_type if self._teams else KeyType.PERSONAL
        self._pending = False

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("New API key", id="title", markup=False)
            yield from self._compose_type()
            yield Label("Name", classes="field-label")
            yield LiteralInput(placeholder=DEFAULT_KEY_NAME, id="name")
            yield Static("", id="name-problem", markup=False)
            yield Label("Expiration", classes="field-label")
            with ChoiceSet(id="expiration"):
                for choice in Expiration:
                    yield RadioButton(
                        choice.label,
                        value=choice is self._default_expiration,
                        id=f"expires-{choice.code}",
                    )
            yield Static("", id="failure", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create key", id="create", variant="primary")

    def _compose_type(self) -> ComposeResult:
        team_chosen = self._default_key_type is KeyType.TEAM
        yield Label("Type", classes="field-label")
        with ChoiceSet(id="key-type"):
            yield RadioButton("Personal", value=not team_chosen, id="type-personal")
            yield RadioButton(
                "Team", value=team_chosen, id="type-team", disabled=not self._teams
            )
        yield Static(PERSONAL_HELP, classes="hint", markup=False)
        if not self._teams:
            reason = f"Team: unavailable. {self._no_team_reason}."
            yield Static(reason, id="team-help", classes="hint", markup=False)
            return
        yield Static(TEAM_HELP, id="team-help", classes="hint", markup=False)
        if len(self._teams) > 1:
            picker = Select(
                [(literal(team.name, max_length=60), team.uid) for team in self._teams],
                allow_blank=False,
                value=self._teams[0].uid,
                id="team",
            )
            picker.display = team_chosen
            yield picker
        else:
            only_team = Static(
                Text.assemble("Team: ", literal(self._teams[0].name)), id="team-name", classes="hint"
            )
            only_team.display = team_chosen
            yield only_team

    # -- reading the form -----------------------------------------------------------------

    @property
    def _team_chosen(self) -> bool:
        pressed = self.query_one("#key-type", ChoiceSet).pressed_button
        return pressed is not None and pressed.id == "type-team"

    def _expiration(self) -> Expiration:
        pressed = self.query_one("#expiration", ChoiceSet).pressed_button
        for choice in Expiration:
            if pressed is not None and pressed.id == f"expires-{choice.code}":
                return choice
        return self._default_expiration

    def _team_id(self) -> str | None:
        if not self._team_chosen or not self._teams:
            return None
        if len(self._teams) == 1:
            return self._teams[0].uid
        value = self.query_one("#team", Select).value
        return value if isinstance(value, str) else self._teams[0].uid

    # -- reacting ---------------------------------------------------------------------------

    @on(RadioSet.Changed, "#key-type")
    def _show_team_picker(self) -> None:
        for widget in self.query("#team, #team-name"):
            widget.display = self._team_chosen

    @on(Input.Changed, "#name")
    def _validate_name(self, event: Input.Changed) -> None:
        self._show_name_problem(name_problem(event.value))

    def _show_name_problem(self, problem: str | None) -> None:
        message = self.query_one("#name-problem", Static)
        message.update(problem or "")
        message.set_class(problem is not None, "-shown")
        self.query_one("#create", Button).disabled = problem is not None or self._pending

    @on(Input.Submitted, "#name")
    def _submit_from_name(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#create")
    def _submit_from_button(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_from_button(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if self._pending:
            self.stop_waiting()
            return
        self.dismiss(None)

    def stop_waiting(self) -> None:
        """Give up on the create in flight: the form stays, and says the outcome is unknown.

        The request may have reached the server, so the key may exist (its secret is then lost:
        the user deletes it and creates another). A second Esc closes the dialog.
        """
        if not self._pending:
            return
        self.workers.cancel_group(self, "create-key")
        self._set_pending(False)
        self._show_failure(Text(STOPPED_WAITING))
        self.query_one("#name", Input).focus()

    def action_submit(self) -> None:
        if self._pending:
            return  # a second Enter while the first is in flight sends nothing
        text = self.query_one("#name", Input).value
        problem = name_problem(text)
        if problem is not None:
            self._show_name_problem(problem)
            return
        self._set_pending(True)
        self._show_failure(None)
        self.run_worker(
            self._create_key(key_name(text), self._expiration(), self._team_id()),
            name="create-key",
            group="create-key",
            exit_on_error=False,
        )

    @property
    def pending(self) -> bool:
        """True while a create is in flight."""
        return self._pending

    async def _create_key(self, name: str, expiration: Expiration, team_id: str | None) -> None:
        try:
            created = await self._create(name, expiration, team_id)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - shown in the dialog, never as a traceback
            self._set_pending(False)
            self._show_failure(failure_text(error))
            self.query_one("#name", Input).focus()
            return
        # Something (a command palette, say) may sit above us; dismiss pops the top screen.
        while self.app.screen is not self:
            await asyncio.sleep(0.05)
        # The CreatedKey goes straight to the caller; this screen keeps no reference to it.
        self.dismiss(created)

    def _set_pending(self, pending: bool) -> None:
        self._pending = pending
        button = self.query_one("#create", Button)
        button.label = "Creating…" if pending else "Create key"
        button.disabled = pending or name_problem(self.query_one("#name", Input).value) is not None
        # Cancel stays live: while waiting it stops waiting (a hung server can't trap the user).
        self.query_one("#cancel", Button).label = STOP_LABEL if pending else "Cancel"

    def _show_failure(self, text: Text | None) -> None:
        failure = self.query_one("#failure", Static)
        failure.update(text if text is not None else "")
        failure.set_class(text is not None, "-shown")
