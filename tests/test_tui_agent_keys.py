"""Agent keys in the panel, through Pilot: the opening requests (keys, account, agents) run
side by side and never wait on one another, a failed agents load leaves the page whole, and
the create dialog offers the team's agents as soon as they are known."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from textual.widgets import RadioButton, Static

from oz_tui.api.errors import NetworkError
from oz_tui.api.models import (
    Account,
    Agent,
    ApiKey,
    CreatedKey,
    Expiration,
    KeyScope,
    Team,
    Workspace,
)
from oz_tui.backend import Backend
from oz_tui.tui.screens import CreateKeyScreen
from oz_tui.tui.screens.create_key import AgentPicker
from oz_tui.tui.widgets import ErrorBanner, KeyTable

from conftest import FIXED_NOW, FakeClock
from scenarios import make_app, settle

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
