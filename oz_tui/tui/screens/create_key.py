"""The "New API key" dialog: type (Personal, Team or Agent), name, expiration; creates the key
in a worker."""

from __future__ import annotations

from typing import Awaitable, ClassVar, Protocol, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    Static,
)

from oz_tui.core.models import (
    Agent,
    CreatedKey,
    Expiration,
    KeyType,
    Team,
)
from oz_tui.core import names
from oz_tui.core.names import DEFAULT_KEY_NAME
from oz_tui.tui.literal import LiteralInput, literal
from oz_tui.tui.screens.request_dialog import RequestDialog


class CreateKey(Protocol):
    """The backend call the dialog makes (`KeyService.create_key`): at most one of `team_id`
    (a Team key) and `agent_uid` (an Agent key); neither makes a Personal key."""

    def __call__(
        self,
        name: str,
        expiration: Expiration,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> Awaitable[CreatedKey]: ...


# One line each (they fit the 74 columns the dialog has on an 80-column terminal).
PERSONAL_HELP = "Personal: authenticates as you, on your personal credits."
TEAM_HELP = "Team (older form): runs aren't tied to a person, on the team's credits."
AGENT_HELP = "Agent: runs as a cloud agent, with its secrets and skills; team credits."
AGENTS_LOADING = "Agent: loading the team's agents…"
#: Why an agent is listed but can't be picked (all Warp says is `available: false`).
UNAVAILABLE_AGENT_REASON = "unavailable on the team's plan"
NO_AGENTS_REASON = "Your team has no cloud agents"
NO_AVAILABLE_AGENTS_REASON = "None of the team's agents is available on its plan"
AGENTS_FAILED_REASON = "Couldn't load the team's agents ({problem}); close and press r to retry"
NO_AGENT_CHOSEN = "Choose the agent the key runs as."
NO_TEAM_REASON = "Your account has no team"

def name_problem(text: str) -> str | None:
    """Why `text` can't be a key name, or None when it can (blank is fine: it gets the default)."""
    return names.name_problem(text, blank_allowed=True)


def key_name(text: str) -> str:
    """The name to send: the trimmed text, or Warp's default when it's blank."""
    return text.strip() or DEFAULT_KEY_NAME


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


class AgentPicker(Select[str]):
    """The team's agents to choose from. Unavailable ones are listed too, disabled (they can't
    be highlighted or chosen), with why; the first available one is preselected (at least one
    must be)."""

    DEFAULT_CSS = """
    AgentPicker {
        width: 1fr;
    }
    """

    def __init__(self, agents: Sequence[Agent], *, id: str | None = None) -> None:  # noqa: A002
        self._agents = tuple(agents)
        super().__init__(
            [(agent_label(agent), agent.uid) for agent in self._agents],
            allow_blank=False,
            value=_first_available(self._agents),
            id=id,
        )

    def on_mount(self) -> None:
        # Select fills its option list in its own mount handler, which runs after this one.
        self.call_later(self._disable_unavailable)

    def show_agents(self, agents: Sequence[Agent]) -> None:
        """List `agents` instead; the chosen one stays chosen while it is still available."""
        chosen = self.chosen_uid
        self._agents = tuple(agents)
        self.set_options([(agent_label(agent), agent.uid) for agent in self._agents])
        self._disable_unavailable()
        still_there = any(agent.uid == chosen and agent.available for agent in self._agents)
        self.value = chosen if still_there else _first_available(self._agents)

    def _disable_unavailable(self) -> None:
        options = self.query_one(OptionList)
        for index, agent in enumerate(self._agents):
            if not agent.available:
                options.disable_option_at_index(index)

    @property
    def chosen_uid(self) -> str | None:
        """The chosen agent's uid; None when none is chosen, or the one chosen can't be used."""
        value = self.value
        for agent in self._agents:
            if agent.uid == value and agent.available:
                return agent.uid
        return None


def _first_available(agents: Sequence[Agent]) -> str:
    return next(agent.uid for agent in agents if agent.available)


def agent_label(agent: Agent) -> Text:
    """An agent as listed: its name, literally, and why it can't be chosen when it can't."""
    label = literal(agent.name, max_length=40)
    if not agent.available:
        label.append(" ").append(f"({UNAVAILABLE_AGENT_REASON})", style="italic")
    return label


class CreateKeyScreen(RequestDialog[CreatedKey]):
    """Collects a new key's type, name and expiration and creates it.

    Dismisses with the `CreatedKey` on success, or None when cancelled. Failures stay inside the
    dialog with every input kept, so the user can fix the name or simply try again.
    """

    AUTO_FOCUS = "#name"
    SUBMIT_ID = "#create"
    SUBMIT_LABEL = "Create key"
    PENDING_LABEL = "Creating…"
    # Enter in the name field submits (the Create button was disabled while waiting).
    RETRY_FOCUS = "#name"
    WORKER_GROUP = "create-key"

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
    CreateKeyScreen #agent-row {
        height: auto;
    }
    CreateKeyScreen #agent-row > Static {
        width: auto;
        height: 100%;
        content-align-vertical: middle;
        margin-right: 1;
    }
    CreateKeyScreen .hint.-chosen {
        color: $text;
    }
    CreateKeyScreen ChoiceSet > RadioButton:disabled {
        color: $text-disabled;
    }
    CreateKeyScreen #name-problem {
        color: $text-error;
        display: none;
    }
    CreateKeyScreen #name-problem.-shown {
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
        agents: Sequence[Agent] | None = (),
        agents_problem: str | None = None,
    ) -> None:
        """
        Args:
            create: The backend call.
            teams: The account's teams (the Team type is offered only with one).
            default_expiration: The preselected expiration.
            default_key_type: The preselected type (Personal when there is no team).
            no_team_reason: Why Team is unavailable when `teams` is empty.
            agents: The team's cloud agents (Agent is offered when one is available); None
                while they are still loading (see `offer_agents`).
            agents_problem: Why the agents couldn't be loaded, if they couldn't.
        """
        super().__init__()
        self._create = create
        self._teams = tuple(teams)
        self._no_team_reason = no_team_reason
        self._default_expiration = default_expiration
        self._agents = tuple(agents) if agents is not None else None
        self._agents_problem = agents_problem
        # A type that can't be chosen (no team, no available agent) isn't the default.
        self._wants_agent = default_key_type is KeyType.AGENT
        self._default_key_type = (
            default_key_type if self._offers(default_key_type) else KeyType.PERSONAL
        )
        #: Set once the user picks a type: agents arriving later then leave the choice alone.
        self._type_touched = False

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
        chosen = self._default_key_type
        yield Label("Type", classes="field-label")
        with ChoiceSet(id="key-type"):
            for key_type in KeyType:
                yield RadioButton(
                    key_type.value,
                    value=key_type is chosen,
                    id=f"type-{key_type.name.lower()}",
                    disabled=not self._offers(key_type),
                )
        for key_type, line in (
            (KeyType.PERSONAL, PERSONAL_HELP),
            (KeyType.TEAM, self._team_help()),
            (KeyType.AGENT, self._agent_help()),
        ):
            help_line = Static(line, id=f"{key_type.name.lower()}-help", classes="hint", markup=False)
            help_line.set_class(key_type is chosen, "-chosen")
            yield help_line
        yield from self._compose_team_choice(chosen is KeyType.TEAM)
        with Horizontal(id="agent-row") as row:
            row.display = chosen is KeyType.AGENT
            yield Static("Agent:", classes="hint", markup=False)
            if self._offers(KeyType.AGENT):
                yield AgentPicker(self._agents or (), id="agent")

    def _compose_team_choice(self, shown: bool) -> ComposeResult:
        if not self._teams:
            return
        if len(self._teams) > 1:
            picker = Select(
                [(literal(team.name, max_length=60), team.uid) for team in self._teams],
                allow_blank=False,
                value=self._teams[0].uid,
                id="team",
            )
            picker.display = shown
            yield picker
        else:
            only_team = Static(
                Text.assemble("Team: ", literal(self._teams[0].name)), id="team-name", classes="hint"
            )
            only_team.display = shown
            yield only_team

    def _offers(self, key_type: KeyType) -> bool:
        """Whether `key_type` can be chosen now."""
        if key_type is KeyType.TEAM:
            return bool(self._teams)
        if key_type is KeyType.AGENT:
            return any(agent.available for agent in self._agents or ())
        return True

    def _team_help(self) -> str:
        return TEAM_HELP if self._teams else f"Team: unavailable. {self._no_team_reason}."

    def _agent_help(self) -> str:
        if self._offers(KeyType.AGENT):
            return AGENT_HELP
        if self._agents_problem is not None:
            reason = AGENTS_FAILED_REASON.format(problem=self._agents_problem)
        elif self._agents is None:
            return AGENTS_LOADING
        elif self._agents:
            reason = NO_AVAILABLE_AGENTS_REASON
        else:
            reason = NO_AGENTS_REASON
        return f"Agent: unavailable. {reason}."

    # -- agents arriving --------------------------------------------------------------------

    def offer_agents(self, agents: Sequence[Agent] | None, problem: str | None = None) -> None:
        """The team's agents as now known (None: not yet; `problem`: why they couldn't be
        loaded). Called when the page's agents request answers while the dialog is open. A
        good list stays when a later load fails."""
        if agents is None and self._agents is not None:
            return
        if agents is not None and tuple(agents) == self._agents:
            return  # the same list again (a refresh): the picker stays as the user left it
        self._agents = tuple(agents) if agents is not None else None
        self._agents_problem = problem if agents is None else None
        if not self.is_mounted:
            return
        offered = self._offers(KeyType.AGENT)
        agent_type = self.query_one("#type-agent", RadioButton)
        self.query_one("#agent-help", Static).update(self._agent_help())
        pickers = self.query(AgentPicker)
        if not offered:
            pickers.remove()
        elif pickers:
            pickers.first().show_agents(self._agents or ())
        else:
            self.query_one("#agent-row").mount(AgentPicker(self._agents or (), id="agent"))
            self._fit_height(self.app.size.height)
        if not offered and agent_type.value:
            self.query_one("#type-personal", RadioButton).value = True
        agent_type.disabled = not offered
        # Agent as the configured default, once there are agents to offer (unless the user
        # has chosen a type meanwhile).
        if offered and self._wants_agent and not self._type_touched:
            agent_type.value = True

    # -- reading the form -----------------------------------------------------------------

    @property
    def key_type(self) -> KeyType:
        """The type chosen in the form."""
        pressed = self.query_one("#key-type", ChoiceSet).pressed_button
        for key_type in KeyType:
            if pressed is not None and pressed.id == f"type-{key_type.name.lower()}":
                return key_type
        return KeyType.PERSONAL

    @property
    def _team_chosen(self) -> bool:
        return self.key_type is KeyType.TEAM

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

    def _agent_uid(self) -> str | None:
        if self.key_type is not KeyType.AGENT:
            return None
        return self.query_one("#agent", AgentPicker).chosen_uid

    # -- reacting ---------------------------------------------------------------------------

    @on(RadioSet.Changed, "#key-type")
    def _show_type_choice(self) -> None:
        # RadioSet says nothing when mounted, so a change is a choice (the user's, or ours
        # when agents arrive).
        self._type_touched = True
        for widget in self.query("#team, #team-name"):
            widget.display = self._team_chosen
        self.query_one("#agent-row").display = self.key_type is KeyType.AGENT
        self._mark_chosen_help()

    def _mark_chosen_help(self) -> None:
        """The chosen type's line reads brighter than the others."""
        chosen = self.key_type
        for key_type in KeyType:
            help_line = self.query_one(f"#{key_type.name.lower()}-help", Static)
            help_line.set_class(key_type is chosen, "-chosen")

    @on(Input.Changed, "#name")
    def _validate_name(self, event: Input.Changed) -> None:
        self._show_name_problem(name_problem(event.value))

    def _show_name_problem(self, problem: str | None) -> None:
        message = self.query_one("#name-problem", Static)
        message.update(problem or "")
        message.set_class(problem is not None, "-shown")
        self.sync_submit_button()

    def can_submit(self) -> bool:
        return name_problem(self.query_one("#name", Input).value) is None

    @on(Input.Submitted, "#name")
    def _submit_from_name(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#create")
    def _submit_from_button(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if self._pending:
            return  # a second Enter while the first is in flight sends nothing
        text = self.query_one("#name", Input).value
        problem = name_problem(text)
        if problem is not None:
            self._show_name_problem(problem)
            return
        agent_uid = self._agent_uid()
        if self.key_type is KeyType.AGENT and agent_uid is None:
            self.show_failure(Text(NO_AGENT_CHOSEN))
            return
        name, expiration, team_id = key_name(text), self._expiration(), self._team_id()
        self.send(
            lambda: self._create(name, expiration, team_id=team_id, agent_uid=agent_uid)
        )
