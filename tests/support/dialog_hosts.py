"""Hosts and stand-ins for driving one dialog alone under Pilot (the create dialog, Save your key)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, NamedTuple

from textual.app import App
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget

from oz_tui.core.models import ApiKey, CreatedKey, Expiration, KeyScope

from determinism import FIXED_NOW


SIZE = (100, 32)


def fake_raw_key(seed: str = "modal-tests") -> str:
    """A key-shaped secret, derived at run time so no key-like literal lives in the repo."""
    return "wk-1." + hashlib.sha256(seed.encode()).hexdigest()


def make_created(name: str = "deploy bot", seed: str = "modal-tests") -> CreatedKey:
    raw = fake_raw_key(seed)
    key = ApiKey(
        uid="key-1", name=name, key_suffix=raw[-4:], scope=KeyScope.PERSONAL, created_at=FIXED_NOW
    )
    return CreatedKey(api_key=key, raw_key=raw)


class Host(App[None]):
    """A bare app that pushes one screen and records what it dismisses with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.screen_under_test = screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.screen_under_test, self.results.append)


def shown_text(widget: Widget) -> str:
    """The characters the widget actually draws, line by line."""
    width, height = widget.outer_size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


class Sent(NamedTuple):
    """One create the dialog asked for."""

    name: str
    expiration: Expiration
    team_id: str | None = None
    agent_uid: str | None = None


class FakeCreate:
    """Records calls; answers with `result`, raises `error`, or waits for `gate` first."""

    def __init__(
        self,
        result: CreatedKey | None = None,
        *,
        error: Exception | None = None,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.result = result or make_created()
        self.error = error
        self.gate = gate
        self.calls: list[Sent] = []

    async def __call__(
        self,
        name: str,
        expiration: Expiration,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey:
        self.calls.append(Sent(name, expiration, team_id, agent_uid))
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.result
