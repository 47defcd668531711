"""Agent keys in the panel, through Pilot: the opening requests (keys, account, agents) run
side by side and never wait on one another, a failed agents load leaves the page whole, the
create dialog offers the team's agents as soon as they are known; and, against the local key
service, an Agent key made end to end, the table naming agents, the search finding them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.widgets import OptionList, RadioButton, Static

from oz_tui.core.errors import NetworkError
from oz_tui.core.models import (
    Account,
    Agent,
    ApiKey,
    CreatedKey,
    Expiration,
    KeyScope,
    KeyType,
    Team,
    Workspace,
)
from oz_tui.backend import Backend
from oz_tui.local.demo import DEFAULT_AGENT_UID, DEPLOY_BOT_UID
from oz_tui.tui.screens import CreateKeyScreen, ShowKeyScreen
from oz_tui.tui.screens.create_key import AgentPicker
from oz_tui.tui.widgets import ErrorBanner, KeyTable

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
from scenarios import demo_backend, make_app, settle

WIDE = (120, 36)
AGENTS = [
    Agent(uid="agent-default", name="Default agent"),
    Agent(uid="agent-deploy", name="deploy-bot"),
    Agent(uid="agent-legacy", name="legacy-bot", available=False),
]
KEYS = [
    ApiKey("key-1", "Laptop CLI", "ab12", KeyScope.PERSONAL, FIXED_NOW),
    ApiKey(
        "key-2", "Deploys", "cd34", KeyScope.AGENT, FIXED_NOW,
        agent_name="deploy-bot", agent_uid="agent-deploy",
    ),
]
ACCOUNT = Account(
    uid="user-ada",
    display_name="Ada",
    email="ada@example.com",
    workspaces=(Workspace("ws-1", "Engines", (Team("team-1", "Platform"),)),),
)


class GatedService:
    """A `KeyService` whose answers wait until the test opens each call's gate.

    `started` lists the calls in the order they were made; `errors` makes a call fail.
    """

    def __init__(self) -> None:
        self.gates = {
            name: asyncio.Event() for name in ("list_keys", "whoami", "list_agents")
        }
        self.started: list[str] = []
        self.errors: dict[str, Exception] = {}
        self.agents = list(AGENTS)

    def open_all(self) -> None:
        for gate in self.gates.values():
            gate.set()

    async def _answer(self, name: str, value: Any) -> Any:
        self.started.append(name)
        await self.gates[name].wait()
        if name in self.errors:
            raise self.errors[name]
        return value

    def is_credential(self, key: ApiKey) -> bool:
        return False  # signed in with none of the listed keys

    async def list_keys(self) -> list[ApiKey]:
        return list(await self._answer("list_keys", KEYS))

    async def whoami(self) -> Account:
        return await self._answer("whoami", ACCOUNT)

    async def list_agents(self) -> list[Agent]:
        return list(await self._answer("list_agents", self.agents))

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey:
        raise NetworkError("not used here")

    async def expire_key(self, uid: str) -> None:
        raise NetworkError("not used here")

    async def aclose(self) -> None:
        return None


def gated_app() -> tuple[Any, GatedService]:
    service = GatedService()
    backend = Backend(client=service, source="test server", is_local=False)  # type: ignore[arg-type]
    return make_app(backend, FakeClock()), service


def agent_help(app: Any) -> str:
    return " ".join(str(app.screen.query_one("#agent-help", Static).content).split())


async def test_the_opening_requests_start_together_and_a_slow_agents_answer_delays_nothing() -> None:
    app, service = gated_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.pause()
        # All three asked before any has answered.
        assert sorted(service.started) == ["list_agents", "list_keys", "whoami"]
        service.gates["list_keys"].set()
        service.gates["whoami"].set()
        await pilot.pause()
        await pilot.pause()
        table = app.screen.query_one(KeyTable)
        assert [key.uid for key in table.visible_keys] == ["key-1", "key-2"]
        # The dialog opens at once: Agent says it's loading, and comes alive with the answer.
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CreateKeyScreen)
        assert app.screen.query_one("#type-agent", RadioButton).disabled
        assert agent_help(app) == "Agent: loading the team's agents…"
        service.gates["list_agents"].set()
        await pilot.pause()
        await pilot.pause()
        assert not app.screen.query_one("#type-agent", RadioButton).disabled
        assert "secrets and skills" in agent_help(app)
        await pilot.click("#type-agent")
        await pilot.pause()
        assert app.screen.query_one("#agent", AgentPicker).value == "agent-default"


async def test_slow_keys_delay_neither_the_account_nor_the_agents() -> None:
    app, service = gated_app()
    async with app.run_test(size=WIDE) as pilot:
        service.gates["list_agents"].set()
        service.gates["whoami"].set()
        await pilot.pause()
        await pilot.pause()
        table = app.screen.query_one(KeyTable)
        assert not table.loaded  # the keys are still on their way
        await pilot.press("n")
        await pilot.pause()
        # Ready on opening: the team and the agents are already known.
        assert isinstance(app.screen, CreateKeyScreen)
        assert not app.screen.query_one("#type-team", RadioButton).disabled
        assert not app.screen.query_one("#type-agent", RadioButton).disabled
        await pilot.press("escape")
        service.gates["list_keys"].set()
        await settle(pilot)
        assert len(table.visible_keys) == 2


async def test_a_failed_agents_load_leaves_the_page_whole_and_r_retries_it() -> None:
    app, service = gated_app()
    service.errors["list_agents"] = NetworkError("Couldn't reach app.warp.dev")
    service.open_all()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(KeyTable)
        assert len(table.visible_keys) == 2 and table.display
        assert not app.screen.query_one(ErrorBanner).shown
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one("#type-agent", RadioButton).disabled
        assert agent_help(app) == (
            "Agent: unavailable. Couldn't load the team's agents (Couldn't reach "
            "app.warp.dev); close and press r to retry."
        )
        await pilot.press("escape")
        del service.errors["list_agents"]
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert not app.screen.query_one("#type-agent", RadioButton).disabled


async def test_a_refresh_whose_agents_load_fails_keeps_the_agents_it_had() -> None:
    app, service = gated_app()
    service.open_all()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        service.errors["list_agents"] = NetworkError("Couldn't reach app.warp.dev")
        await pilot.press("r")
        await settle(pilot)
        assert service.started.count("list_agents") == 2
        await pilot.press("n")
        await pilot.pause()
        assert not app.screen.query_one("#type-agent", RadioButton).disabled


async def test_a_hung_agents_load_can_be_stopped_and_says_so() -> None:
    app, service = gated_app()
    service.gates["list_keys"].set()
    service.gates["whoami"].set()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert screen.waiting  # type: ignore[attr-defined]
        await pilot.press("escape")  # Stop waiting
        await pilot.pause()
        assert not screen.waiting  # type: ignore[attr-defined]
        assert len(screen.query_one(KeyTable).visible_keys) == 2
        await pilot.press("n")
        await pilot.pause()
        assert "Stopped waiting for the server" in agent_help(app)


# -- against the local key service (demo data: default-agent, deploy-bot, gpu-runner) ----------


def demo_panel() -> tuple[Any, Backend]:
    clock = FakeClock()
    backend = demo_backend(clock, deterministic_tokens())
    return make_app(backend, clock), backend


async def test_an_agent_key_end_to_end_through_the_local_service() -> None:
    app, backend = demo_panel()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CreateKeyScreen)
        await pilot.press(*"Release runner")
        await pilot.press("shift+tab", "right", "right")  # the type: Personal -> Team -> Agent
        await pilot.pause()
        assert dialog.key_type is KeyType.AGENT
        picker = dialog.query_one("#agent", AgentPicker)
        assert picker.value == DEFAULT_AGENT_UID  # the team's default agent comes first
        # The unavailable gpu-runner is listed, disabled, with why.
        options = picker.query_one(OptionList)
        listed = {
            Text.assemble(options.get_option_at_index(i).prompt).plain:
                options.get_option_at_index(i).disabled
            for i in range(options.option_count)
        }
        assert listed == {
            "default-agent": False,
            "deploy-bot": False,
            "gpu-runner (unavailable on the team's plan)": True,
        }
        await pilot.press("tab", "enter")  # to the agent list, and open it
        await pilot.press("down", "enter")  # deploy-bot
        await pilot.pause()
        assert picker.value == DEPLOY_BOT_UID
        await pilot.click("#create")
        await settle(pilot)
        assert isinstance(app.screen, ShowKeyScreen)
        await pilot.press("c", "enter")  # copy, then Done
        await settle(pilot)

        table = app.screen.query_one(KeyTable)
        new = next(key for key in table.keys if key.name == "Release runner")
        assert new.scope is KeyScope.AGENT and new.agent_uid == DEPLOY_BOT_UID
        assert table.highlighted_key == new
        cells = table.displayed_cells(new.uid)
        assert cells is not None and cells[2] == "Agent · deploy-bot"
        # The service holds it as deploy-bot's key, and a fresh list says so too.
        listed_keys = {key.uid: key for key in await backend.client.list_keys()}
        assert listed_keys[new.uid].agent_name == "deploy-bot"
        await pilot.press("r")
        await settle(pilot)
        assert table.displayed_cells(new.uid)[2] == "Agent · deploy-bot"  # type: ignore[index]


async def test_search_finds_keys_by_their_agents_name() -> None:
    app, _backend = demo_panel()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(KeyTable)
        await pilot.press("slash", *"DEFAULT-agent")
        await pilot.pause(0.3)
        # "Nightly agent runs" has no such words in its name: its agent has.
        assert [key.name for key in table.visible_keys] == ["Nightly agent runs"]
        await pilot.press(*["backspace"] * len("DEFAULT-agent"), *"deploy")
        await pilot.pause(0.3)
        assert [key.name for key in table.visible_keys] == ["Staging deploy bot"]
        await pilot.press(*["backspace"] * len("deploy"), *"gpu")
        await pilot.pause(0.3)
        assert table.visible_keys == ()


async def test_agent_names_in_the_scope_column_give_way_last() -> None:
    """At 120 columns times go short before agents' names; at 80 only "Agent" fits."""
    for size, scope, compact in (((160, 40), "Agent · deploy-bot", False),
                                 ((120, 36), "Agent · deploy-bot", True),
                                 ((80, 24), "Agent", True)):
        app, _backend = demo_panel()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            table = app.screen.query_one(KeyTable)
            uid = next(key.uid for key in table.keys if key.name == "Staging deploy bot")
            cells = table.displayed_cells(uid)
            assert cells is not None and cells[2] == scope and table.compact is compact
            grid = table.query_one("#key-grid")
            assert grid.virtual_size.width <= grid.scrollable_content_region.width
