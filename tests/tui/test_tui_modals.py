"""The modal dialogs, driven through Textual's Pilot the way a user would drive them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from rich.text import Text
from textual.app import App
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, RadioButton, Select, Static, TextArea

from oz_tui.core.errors import NetworkError, UserFacingError
from oz_tui.core.models import Agent, ApiKey, CreatedKey, Expiration, KeyScope, KeyType, Team
from oz_tui.tui import clipboard
from oz_tui.tui.clipboard import ClipboardResult, copy_in_thread, copy_to_system
from oz_tui.tui.screens import ConfirmDeleteScreen, CreateKeyScreen, HelpScreen, ShowKeyScreen
from oz_tui.tui.screens.create_key import AgentPicker, name_problem
from oz_tui.tui.screens.show_key import CLOSE_UNSAVED_QUESTION, CloseUnsavedKeyScreen

from determinism import FIXED_NOW
from screen_check import notification_messages, notifications, screen_lines
from dialog_hosts import FakeCreate, Host, SIZE, Sent, fake_raw_key, make_created, shown_text


# -- New API key ---------------------------------------------------------------------------


async def test_create_happy_path_sends_name_and_default_expiration() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        assert shown_text(app.screen.query_one("#title", Static)).strip() == "New API key"
        assert app.focused is app.screen.query_one("#name", Input)
        await pilot.press(*"ci bot")
        await pilot.press("enter")
        await pilot.pause()
        assert create.calls == [Sent("ci bot", Expiration.DAYS_90)]
        assert app.results == [create.result]
        assert not isinstance(app.screen, CreateKeyScreen)


@pytest.mark.parametrize("key_type", list(KeyType))
async def test_at_80x24_the_create_dialog_fits_without_scrolling_and_grows_back(
    key_type: KeyType,
) -> None:
    screen = CreateKeyScreen(
        FakeCreate(),
        teams=(Team(uid="team-1", name="Acme"),),
        agents=AGENTS,
        default_key_type=key_type,
    )
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert screen.key_type is key_type
        dialog = app.screen.query_one("#dialog")
        name = app.screen.query_one("#name", Input)
        # Everything from the title to the buttons is on screen, nothing to scroll to.
        assert dialog.max_scroll_y == 0
        assert name.compact and name.outer_size.height == 1
        assert app.screen.query_one("#create", Button).region.bottom <= 24
        # Each type's line is one line at this width.
        for key_type_line in ("#personal-help", "#team-help", "#agent-help"):
            assert app.screen.query_one(key_type_line).outer_size.height == 1
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        # With room again, the fields get their usual bordered look.
        assert not name.compact and name.outer_size.height == 3
        assert dialog.max_scroll_y == 0


async def test_expiration_choices_in_warps_order_and_arrow_keys_choose() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        labels = [str(button.label) for button in app.screen.query("#expiration RadioButton")]
        assert labels == ["90 days", "30 days", "1 day", "Never"]
        app.screen.query_one("#expiration").focus()
        await pilot.press("right", "right", "right")  # 30 days, 1 day, Never
        await pilot.press("enter")  # Enter on the radio group submits the form
        await pilot.pause()
        assert create.calls == [Sent("Warp API Key", Expiration.NEVER)]


async def test_blank_name_becomes_the_default_name() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query_one("#name", Input).placeholder == "Warp API Key"
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert create.calls == [Sent("Warp API Key", Expiration.DAYS_90)]


async def test_team_key_sends_the_team_id() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=(Team(uid="team-1", name="Acme"),)))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#key-type").focus()
        await pilot.press("right")  # Personal -> Team
        await pilot.pause()
        assert "Acme" in shown_text(app.screen.query_one("#team-name", Static))
        hints = app.screen.query(".hint")
        descriptions = " ".join(" ".join(shown_text(hint).split()) for hint in hints)
        assert "authenticates as you" in descriptions and "your personal credits" in descriptions
        assert "aren't tied to a person" in descriptions and "the team's credits" in descriptions
        await pilot.click("#create")
        await pilot.pause()
        assert create.calls == [Sent("Warp API Key", Expiration.DAYS_90, team_id="team-1")]


async def test_several_teams_default_to_the_first_and_can_be_picked() -> None:
    teams = (Team(uid="team-1", name="Acme"), Team(uid="team-2", name="[b]Beta[/b]"))
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=teams, default_key_type=KeyType.TEAM))
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen.query_one("#team", Select)
        assert picker.display and picker.value == "team-1"
        picker.value = "team-2"
        app.screen.query_one("#name", Input).focus()
        await pilot.press(*"nightly", "enter")
        await pilot.pause()
        assert create.calls == [Sent("nightly", Expiration.DAYS_90, team_id="team-2")]


async def test_team_is_disabled_with_the_reason_when_there_is_no_team() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=(), default_key_type=KeyType.TEAM))
    async with app.run_test(size=SIZE) as pilot:
        team = app.screen.query_one("#type-team", RadioButton)
        assert team.disabled and not team.value
        assert "Your account has no team" in shown_text(app.screen.query_one("#team-help", Static))
        app.screen.query_one("#key-type").focus()
        await pilot.press("right", "down")
        assert not team.value
        assert app.screen.query_one("#type-personal", RadioButton).value


DEFAULT_AGENT = Agent(uid="agent-default", name="Default agent")
DEPLOY_BOT = Agent(uid="agent-deploy", name="deploy-bot")
LEGACY_BOT = Agent(uid="agent-legacy", name="legacy-bot", available=False)
AGENTS = (DEFAULT_AGENT, LEGACY_BOT, DEPLOY_BOT)


def hint_texts(screen: Screen[Any]) -> str:
    return " ".join(" ".join(shown_text(hint).split()) for hint in screen.query(".hint"))


async def test_three_types_each_say_in_one_line_what_they_mean() -> None:
    app = Host(CreateKeyScreen(FakeCreate(), teams=(Team("team-1", "Acme"),), agents=AGENTS))
    async with app.run_test(size=SIZE):
        types = list(app.screen.query("#key-type RadioButton").results(RadioButton))
        assert [str(button.label) for button in types] == ["Personal", "Team", "Agent"]
        assert not any(button.disabled for button in types)
        assert [button.value for button in types] == [True, False, False]
        lines = {
            key_type: shown_text(app.screen.query_one(f"#{key_type.name.lower()}-help"))
            for key_type in KeyType
        }
        assert "authenticates as you" in lines[KeyType.PERSONAL]
        assert "personal credits" in lines[KeyType.PERSONAL]
        assert "older form" in lines[KeyType.TEAM] and "team's credits" in lines[KeyType.TEAM]
        assert "runs as a cloud agent" in lines[KeyType.AGENT]
        assert "secrets and skills" in lines[KeyType.AGENT] and "team" in lines[KeyType.AGENT]
        # The agent picker shows only with Agent chosen.
        assert not app.screen.query_one("#agent-row").display


async def test_agent_key_by_keyboard_sends_the_first_available_agent_or_the_one_picked() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=(Team("team-1", "Acme"),), agents=AGENTS))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, CreateKeyScreen)
        screen.query_one("#key-type").focus()
        await pilot.press("right", "right")  # Personal -> Team -> Agent
        await pilot.pause()
        assert screen.key_type is KeyType.AGENT
        picker = screen.query_one("#agent", AgentPicker)
        assert screen.query_one("#agent-row").display and picker.value == DEFAULT_AGENT.uid
        assert "Default agent" in shown_text(picker.query_one("#label"))
        await pilot.press("enter")
        await pilot.pause()
        assert create.calls == [Sent("Warp API Key", Expiration.DAYS_90, agent_uid="agent-default")]

    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=(), agents=AGENTS, default_key_type=KeyType.AGENT))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"deploys")
        await pilot.press("shift+tab")  # from the name back to the agent picker
        assert app.focused is app.screen.query_one("#agent", AgentPicker)
        # Open the list; down passes over the unavailable legacy-bot to deploy-bot.
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert app.screen.query_one("#agent", AgentPicker).value == DEPLOY_BOT.uid
        await pilot.click("#create")
        await pilot.pause()
        assert create.calls == [Sent("deploys", Expiration.DAYS_90, agent_uid="agent-deploy")]


async def test_agent_key_by_mouse() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=(), agents=AGENTS))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#type-agent")
        await pilot.pause()
        assert app.screen.key_type is KeyType.AGENT  # type: ignore[attr-defined]
        await pilot.click("#agent")
        await pilot.pause()
        options = app.screen.query_one("#agent OptionList", OptionList)
        # Clicking the unavailable agent changes nothing; clicking deploy-bot chooses it.
        legacy = options.get_option_at_index(1)
        assert "legacy-bot" in str(legacy.prompt)
        await pilot.click(options, offset=(3, 2))  # legacy-bot's row (inside the border)
        await pilot.pause()
        assert app.screen.query_one("#agent", AgentPicker).value == DEFAULT_AGENT.uid
        await pilot.click(options, offset=(3, 3))  # deploy-bot's row
        await pilot.pause()
        assert app.screen.query_one("#agent", AgentPicker).value == DEPLOY_BOT.uid
        await pilot.click("#create")
        await pilot.pause()
        assert create.calls == [Sent("Warp API Key", Expiration.DAYS_90, agent_uid="agent-deploy")]


async def test_an_unavailable_agent_is_listed_disabled_with_why_and_never_sent() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=(), agents=AGENTS, default_key_type=KeyType.AGENT))
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen.query_one("#agent", AgentPicker)
        options = picker.query_one(OptionList)
        listed = [options.get_option_at_index(index) for index in range(options.option_count)]
        assert [option.disabled for option in listed] == [False, True, False]
        reason = "legacy-bot (unavailable on the team's plan)"
        assert Text.assemble(listed[1].prompt).plain == reason
        # Even set behind the list's back, an unavailable agent is not sent.
        picker.value = LEGACY_BOT.uid
        await pilot.press("enter")
        await pilot.pause()
        assert create.calls == []
        assert "Choose the agent" in shown_text(app.screen.query_one("#failure", Static))


@pytest.mark.parametrize(
    ("agents", "problem", "reason"),
    [
        ((), None, "Agent: unavailable. Your team has no cloud agents."),
        (
            (LEGACY_BOT,),
            None,
            "Agent: unavailable. None of the team's agents is available on its plan.",
        ),
        (
            None,
            "Couldn't reach app.warp.dev",
            "Agent: unavailable. Couldn't load the team's agents (Couldn't reach app.warp.dev); "
            "close and press r to retry.",
        ),
        (None, None, "Agent: loading the team's agents…"),
    ],
    ids=["no-agents", "none-available", "load-failed", "loading"],
)
async def test_agent_is_disabled_with_the_reason(
    agents: tuple[Agent, ...] | None, problem: str | None, reason: str
) -> None:
    create = FakeCreate()
    screen = CreateKeyScreen(
        create,
        teams=(Team("team-1", "Acme"),),
        agents=agents,
        agents_problem=problem,
        default_key_type=KeyType.AGENT,
    )
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        agent_type = screen.query_one("#type-agent", RadioButton)
        assert agent_type.disabled and not agent_type.value
        # The configured default can't be had: Personal instead.
        assert screen.key_type is KeyType.PERSONAL
        assert " ".join(shown_text(screen.query_one("#agent-help")).split()) == reason
        assert not screen.query("#agent")
        screen.query_one("#key-type").focus()
        await pilot.press("right", "right", "right")  # Team, then past the disabled Agent
        assert screen.key_type is not KeyType.AGENT
        await pilot.click("#type-agent")
        assert screen.key_type is not KeyType.AGENT
        await pilot.press("enter")
        await pilot.pause()
        assert len(create.calls) == 1 and create.calls[0].agent_uid is None


async def test_agents_arriving_while_open_enable_agent_and_choose_the_default() -> None:
    screen = CreateKeyScreen(
        FakeCreate(), teams=(), agents=None, default_key_type=KeyType.AGENT
    )
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        assert screen.key_type is KeyType.PERSONAL
        assert "loading" in shown_text(screen.query_one("#agent-help"))
        screen.offer_agents(AGENTS)
        await pilot.pause()
        assert not screen.query_one("#type-agent", RadioButton).disabled
        assert screen.key_type is KeyType.AGENT
        picker = screen.query_one("#agent", AgentPicker)
        assert picker.compact and picker.value == DEFAULT_AGENT.uid
        assert "secrets and skills" in shown_text(screen.query_one("#agent-help"))
        assert screen.query_one("#dialog").max_scroll_y == 0
        # A later failed load keeps the good list.
        screen.offer_agents(None, "Couldn't reach app.warp.dev")
        await pilot.pause()
        assert screen.key_type is KeyType.AGENT and screen.query("#agent")
        # A changed list keeps the choice while it is still there, else the first available.
        picker.value = DEPLOY_BOT.uid
        renamed = Agent(uid=DEFAULT_AGENT.uid, name="main agent")
        screen.offer_agents((renamed, DEPLOY_BOT, LEGACY_BOT))
        await pilot.pause()
        options = picker.query_one(OptionList)
        assert [options.get_option_at_index(i).disabled for i in range(3)] == [False, False, True]
        assert picker.value == DEPLOY_BOT.uid and screen.query_one("#agent") is picker
        screen.offer_agents((LEGACY_BOT, renamed))
        await pilot.pause()
        assert picker.value == DEFAULT_AGENT.uid
        assert "main agent" in shown_text(picker.query_one("#label"))
        # No agent left to offer: Agent goes back to disabled, with why, and Personal is chosen.
        screen.offer_agents(())
        await pilot.pause()
        assert screen.key_type is KeyType.PERSONAL and not screen.query("#agent")
        assert screen.query_one("#type-agent", RadioButton).disabled
        assert "no cloud agents" in shown_text(screen.query_one("#agent-help"))


async def test_agents_arriving_leave_a_type_the_user_chose_alone() -> None:
    screen = CreateKeyScreen(
        FakeCreate(), teams=(Team("team-1", "Acme"),), agents=None, default_key_type=KeyType.AGENT
    )
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        screen.query_one("#key-type").focus()
        await pilot.press("right")  # Team
        screen.offer_agents(AGENTS)
        await pilot.pause()
        assert screen.key_type is KeyType.TEAM
        assert not screen.query_one("#type-agent", RadioButton).disabled


async def test_a_failed_agent_create_keeps_the_type_the_agent_and_the_name() -> None:
    create = FakeCreate(error=UserFacingError("Agent is not available on your plan"))
    screen = CreateKeyScreen(create, teams=(), agents=AGENTS, default_key_type=KeyType.AGENT)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        screen.query_one("#agent", AgentPicker).value = DEPLOY_BOT.uid
        await pilot.press(*"bot key", "enter")
        await pilot.pause()
        assert app.screen is screen
        assert "not available on your plan" in shown_text(screen.query_one("#failure"))
        assert screen.key_type is KeyType.AGENT
        assert screen.query_one("#agent", AgentPicker).value == DEPLOY_BOT.uid
        assert screen.query_one("#name", Input).value == "bot key"
        create.error = None
        await pilot.press("enter")
        await pilot.pause()
        assert create.calls == [Sent("bot key", Expiration.DAYS_90, agent_uid="agent-deploy")] * 2


async def test_agent_names_are_listed_literally() -> None:
    hostile = Agent(uid="agent-x", name="[b]bold[/b]\x1b[31mred")
    app = Host(CreateKeyScreen(FakeCreate(), teams=(), agents=(hostile,),
                               default_key_type=KeyType.AGENT))
    async with app.run_test(size=SIZE):
        shown = shown_text(app.screen.query_one("#agent #label"))
        assert "[b]bold[/b]" in shown and "\x1b" not in shown


@pytest.mark.parametrize(
    ("name", "message"),
    [("x" * 101, "too long"), ("bad\x1bname", "control characters"), ("tab\there", "control")],
)
async def test_invalid_names_show_why_and_are_not_sent(name: str, message: str) -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#name", Input).value = name  # as a paste would
        await pilot.pause()
        assert message in shown_text(app.screen.query_one("#name-problem", Static))
        assert app.screen.query_one("#create", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
        assert create.calls == []
        assert isinstance(app.screen, CreateKeyScreen)


def test_exactly_100_characters_is_allowed() -> None:
    assert name_problem("x" * 100) is None
    assert name_problem("  ") is None
    assert name_problem("x" * 101) is not None


async def test_failure_keeps_the_form_and_shows_the_message_literally() -> None:
    create = FakeCreate(error=UserFacingError("Name already taken [bold]x[/]"))
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#expiration").focus()
        await pilot.press("right")  # 30 days
        app.screen.query_one("#name", Input).focus()
        await pilot.press(*"dup", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CreateKeyScreen)
        assert "Name already taken [bold]x[/]" in shown_text(screen.query_one("#failure", Static))
        assert screen.query_one("#name", Input).value == "dup"
        assert screen.query_one("#expires-30d", RadioButton).value
        create_button = screen.query_one("#create", Button)
        assert str(create_button.label) == "Create key" and not create_button.disabled
        # Trying again sends the same form again.
        create.error = None
        await pilot.press("enter")
        await pilot.pause()
        assert create.calls == [Sent("dup", Expiration.DAYS_30)] * 2
        assert app.results == [create.result]


async def test_failure_that_may_have_succeeded_says_to_refresh() -> None:
    error = NetworkError("timed out waiting for the server", may_have_succeeded=True)
    app = Host(CreateKeyScreen(FakeCreate(error=error), teams=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        shown = " ".join(shown_text(app.screen.query_one("#failure", Static)).split())
        assert "timed out waiting for the server" in shown
        assert "may have been created" in shown and "refresh" in shown


async def test_unexpected_exception_stays_in_the_dialog() -> None:
    app = Host(CreateKeyScreen(FakeCreate(error=RuntimeError("boom")), teams=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CreateKeyScreen)
        assert "RuntimeError" in shown_text(app.screen.query_one("#failure", Static))


async def test_double_enter_sends_once_and_shows_creating() -> None:
    gate = asyncio.Event()
    create = FakeCreate(gate=gate)
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        button = app.screen.query_one("#create", Button)
        assert str(button.label) == "Creating…" and button.disabled
        assert str(app.screen.query_one("#cancel", Button).label) == "Stop waiting"
        await pilot.press("enter")
        await pilot.click("#create")
        await pilot.pause()
        assert len(create.calls) == 1
        assert isinstance(app.screen, CreateKeyScreen)
        gate.set()
        await pilot.pause()
        await pilot.pause()
        assert app.results == [create.result]


@pytest.mark.parametrize("how", ["escape", "button"])
async def test_a_hung_create_can_be_stopped_and_the_form_stays(how: str) -> None:
    gate = asyncio.Event()  # never set: the server never answers
    create = FakeCreate(gate=gate)
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"slow one", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CreateKeyScreen) and screen.pending
        if how == "escape":
            await pilot.press("escape")
        else:
            await pilot.click("#cancel")
        await pilot.pause()
        assert app.screen is screen and not screen.pending
        shown = " ".join(shown_text(screen.query_one("#failure", Static)).split())
        assert "Stopped waiting" in shown and "may have been created" in shown
        assert "refresh" in shown
        assert screen.query_one("#name", Input).value == "slow one"
        create_button = screen.query_one("#create", Button)
        assert str(create_button.label) == "Create key" and not create_button.disabled
        assert str(screen.query_one("#cancel", Button).label) == "Cancel"
        assert not [w for w in app.workers if w.group == "create-key" and w.is_running]
        await pilot.press("escape")  # now it closes
        await pilot.pause()
        assert app.results == [None]
        assert len(create.calls) == 1


async def test_escape_cancels() -> None:
    create = FakeCreate()
    app = Host(CreateKeyScreen(create, teams=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"abc", "escape")
        await pilot.pause()
        assert app.results == [None]
        assert create.calls == []


async def test_cancel_button_cancels() -> None:
    app = Host(CreateKeyScreen(FakeCreate(), teams=()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#cancel")
        await pilot.pause()
        assert app.results == [None]


# -- Save your key -------------------------------------------------------------------------


async def copy_done(pilot: Any) -> None:
    """Wait for the system copy's thread worker, and for its toast to be drawn."""
    await asyncio.wait_for(pilot.app.workers.wait_for_complete(), 10)
    await pilot.pause()


def assert_secret_gone(app: App[Any], screen: ShowKeyScreen, field: TextArea, raw: str) -> None:
    """After close: not in the app's clipboard mirror, any widget, the screen, or a toast."""
    assert app.clipboard != raw
    for shown in app.screen_stack:
        for widget in shown.walk_children(with_self=True):
            if isinstance(widget, TextArea):
                assert raw not in widget.text
            if isinstance(widget, Input):
                assert raw not in widget.value
            if widget.is_mounted and widget.outer_size.area:
                assert raw not in shown_text(widget)
    drawn = "\n".join(screen_lines(app))
    assert raw not in drawn
    assert field.text == ""  # the (now unmounted) field that showed it
    for value in vars(screen).values():
        assert not isinstance(value, CreatedKey)
        assert not (isinstance(value, str) and raw in value)
    for notification in notifications(app):
        assert raw not in notification.message and raw not in notification.title


async def test_show_key_copy_then_done() -> None:
    created = make_created()
    raw = created.raw_key
    sent_to_system: list[str] = []

    def copy(text: str) -> ClipboardResult:
        # copy_to_system's contract (the screen sends OSC 52 itself), with a stand-in system
        # clipboard (never the real one).
        sent_to_system.append(text)
        return ClipboardResult(terminal=True, system=True, system_error=None)

    screen = ShowKeyScreen(created, copy=copy)
    app = Host(screen)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        field = screen.query_one("#secret", TextArea)
        assert shown_text(screen.query_one("#title", Static)).strip() == "Save your key"
        assert raw in shown_text(screen.query_one("#secret", TextArea))
        assert "deploy bot" in shown_text(screen.query_one("#key-name", Static))
        await pilot.press("c")
        await copy_done(pilot)
        assert app.clipboard == raw
        assert sent_to_system == [raw]
        assert str(screen.query_one("#copy", Button).label) == "Copied"
        messages = notification_messages(app)
        assert messages and all(raw not in message for message in messages)
        assert "system clipboard" in messages[-1] and "OSC 52" in messages[-1]
        await pilot.pause()
        toasts = [shown_text(toast) for toast in app.screen.query("Toast")]
        assert any("OSC 52" in " ".join(toast.split()) for toast in toasts)
        assert all(raw not in toast for toast in toasts)
        assert app.focused is screen.query_one("#done", Button)
        await pilot.press("enter")  # Done, without asking: the key was copied
        await pilot.pause()
        assert app.results[-1] is None and app.screen is not screen
        assert_secret_gone(app, screen, field, raw)


async def test_show_key_escape_before_copy_asks_first() -> None:
    created = make_created(seed="escape")
    raw = created.raw_key
    screen = ShowKeyScreen(created, copy=lambda text: ClipboardResult(True, False, None))
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        field = screen.query_one("#secret", TextArea)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CloseUnsavedKeyScreen)
        assert CLOSE_UNSAVED_QUESTION in shown_text(app.screen.query_one("#question", Static))
        await pilot.press("enter")  # Cancel has focus: keep the dialog
        await pilot.pause()
        assert app.screen is screen and app.results == []
        assert field.text == raw
        await pilot.click("#done")  # Done asks too
        await pilot.pause()
        assert isinstance(app.screen, CloseUnsavedKeyScreen)
        await pilot.click("#discard")
        await pilot.pause()
        assert app.results == [None]
        assert_secret_gone(app, screen, field, raw)


async def test_show_key_secret_can_be_selected_and_copied_by_hand() -> None:
    created = make_created(seed="by-hand")
    raw = created.raw_key
    screen = ShowKeyScreen(created, copy=lambda text: ClipboardResult(True, False, None))
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        field = screen.query_one("#secret", TextArea)
        assert field.read_only
        # Drag across the key with the mouse (the text starts after the border and padding).
        await pilot.mouse_down("#secret", offset=(2, 1))
        await pilot.hover("#secret", offset=(78, 1))
        await pilot.mouse_up("#secret", offset=(78, 1))
        assert field.selected_text == raw
        await pilot.press("ctrl+c")
        assert app.clipboard == raw
        # Copied by hand counts as copied: Esc closes without the question.
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
        assert_secret_gone(app, screen, field, raw)


async def test_show_key_copy_through_copy_secret_never_logs_or_toasts_the_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: None)
    created = make_created(seed="real-copy")
    raw = created.raw_key
    screen = ShowKeyScreen(created)
    app = Host(screen)
    caplog.set_level(logging.DEBUG)
    async with app.run_test(size=SIZE) as pilot:
        field = screen.query_one("#secret", TextArea)
        await pilot.click("#copy")
        await copy_done(pilot)
        assert app.clipboard == raw
        message = notifications(app)[-1].message
        assert "OSC 52" in message and "system clipboard" not in message
        await pilot.click("#done")
        await pilot.pause()
        assert app.results == [None]
        assert_secret_gone(app, screen, field, raw)
    assert raw not in caplog.text


async def test_show_key_hostile_name_is_literal() -> None:
    created = make_created(name="[@click=app.quit]x\x1b[31m", seed="hostile")
    app = Host(ShowKeyScreen(created, copy=lambda text: ClipboardResult(True, False, None)))
    async with app.run_test(size=SIZE) as pilot:
        shown = shown_text(app.screen.query_one("#key-name", Static))
        assert "[@click=app.quit]x␛[31m" in shown and "\x1b" not in shown
        await pilot.click("#key-name")
        await pilot.pause()
        assert app.is_running and app.results == []


async def test_show_key_forgets_the_secret_when_the_app_exits() -> None:
    created = make_created(seed="exit")
    screen = ShowKeyScreen(created, copy=lambda text: ClipboardResult(True, False, None))
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        field = screen.query_one("#secret", TextArea)
        app.copy_to_clipboard(created.raw_key)
        app.exit()
        await pilot.pause()
    assert field.text == ""
    assert app.clipboard != created.raw_key
    assert all(not isinstance(value, CreatedKey) for value in vars(screen).values())


# -- Clipboard -----------------------------------------------------------------------------


async def test_copy_secret_without_a_system_clipboard_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: None)
    app = App[None]()
    text = fake_raw_key("clip")
    results: list[ClipboardResult] = []
    async with app.run_test() as pilot:
        copy_in_thread(app.screen, text, results.append)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert results == [ClipboardResult(terminal=True, system=False)]
        assert app.clipboard == text


def test_copy_secret_reports_system_failure_without_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = fake_raw_key("clip-fail")

    def broken(value: str) -> None:
        raise RuntimeError(f"helper said: {value}")

    monkeypatch.setattr(clipboard, "find_system_copier", lambda: broken)
    result = copy_to_system(text)
    assert result == ClipboardResult(terminal=True, system=False, system_error="RuntimeError")


def test_copy_secret_does_not_wait_long_for_a_stuck_clipboard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: lambda value: time.sleep(2))
    monkeypatch.setattr(clipboard, "SYSTEM_CLIPBOARD_TIMEOUT", 0.05)
    started = time.monotonic()
    result = copy_to_system(fake_raw_key("stuck"))
    assert time.monotonic() - started < 1
    assert result.terminal and not result.system and result.system_error == "timed out"


def test_copy_secret_uses_the_system_clipboard_when_present(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    received: list[str] = []
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: received.append)
    text = fake_raw_key("clip-ok")
    assert copy_to_system(text) == ClipboardResult(True, True, None)
    assert received == [text]


def test_pyperclip_without_a_mechanism_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyperclip

    monkeypatch.setattr(clipboard, "_is_headless_unix", lambda: False)
    monkeypatch.setattr(pyperclip, "determine_clipboard", pyperclip.init_no_clipboard)
    assert copy_to_system(fake_raw_key("none")) == ClipboardResult(True, False, None)


def test_no_display_means_no_system_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clipboard.sys, "platform", "linux")
    monkeypatch.setattr(clipboard, "_is_wsl", lambda: False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert clipboard.find_system_copier() is None


# -- Delete --------------------------------------------------------------------------------


def make_key(name: str = "ci runner") -> ApiKey:
    return ApiKey(
        uid="key-9", name=name, key_suffix="ab12", scope=KeyScope.TEAM, created_at=FIXED_NOW
    )


async def test_delete_names_the_key_and_cancel_has_focus() -> None:
    app = Host(ConfirmDeleteScreen(make_key()))
    async with app.run_test(size=SIZE) as pilot:
        question = shown_text(app.screen.query_one("#question", Static))
        assert "ci runner" in question and "wk-**ab12" in question
        consequences = " ".join(shown_text(app.screen.query_one("#consequences")).split())
        assert "cannot be undone" in consequences and "loses access" in consequences
        delete = app.screen.query_one("#delete", Button)
        assert str(delete.label) == "Delete key" and delete.variant == "error"
        assert app.focused is app.screen.query_one("#cancel", Button)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [False]


@pytest.mark.parametrize(("key", "result"), [("y", True), ("n", False), ("escape", False)])
async def test_delete_keys(key: str, result: bool) -> None:
    app = Host(ConfirmDeleteScreen(make_key()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [result]


async def test_delete_button_confirms() -> None:
    app = Host(ConfirmDeleteScreen(make_key()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#delete")
        await pilot.pause()
        assert app.results == [True]


async def test_delete_hostile_name_is_shown_literally_and_inert() -> None:
    app = Host(ConfirmDeleteScreen(make_key("[@click=app.quit]x\x1b[31m")))
    async with app.run_test(size=SIZE) as pilot:
        question = app.screen.query_one("#question", Static)
        shown = shown_text(question)
        assert "[@click=app.quit]x␛[31m" in shown and "\x1b" not in shown
        await pilot.click("#question")
        await pilot.click("#question", offset=(20, 0))
        await pilot.pause()
        assert app.is_running and app.results == []
        assert isinstance(app.screen, ConfirmDeleteScreen)


# -- Help ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["escape", "question_mark", "q"])
async def test_help_lists_keys_and_columns_and_closes(key: str) -> None:
    app = Host(HelpScreen())
    async with app.run_test(size=(100, 40)) as pilot:
        keys = shown_text(app.screen.query_one("#keys", Static))
        for expected in ("n  +", "/", "d  Delete", "ctrl+p", "q  ctrl+q", "?", "Reverse"):
            assert expected in keys
        columns = shown_text(app.screen.query_one("#columns", Static))
        for column in ("Name", "Key", "Scope", "Created", "Last used", "Expires at", "7 days"):
            assert column in columns
        await pilot.press(key)
        await pilot.pause()
        assert app.results == [None]
