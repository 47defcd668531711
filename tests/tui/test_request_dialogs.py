"""What the create and rotate dialogs share (oz_tui/tui/screens/request_dialog.py): a failure
keeps the dialog, and trying again at once (Enter, or a click on the button) tries again, however
the first try was made.

Button ignores Enter and clicks while its press animation runs (the `-active` class); a failure
that comes back within it used to swallow the retry. The tests stretch the animation so that
"at once" is inside it whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Button, Static

from oz_tui.core.errors import PermissionDeniedError
from oz_tui.core.models import ApiKey, CreatedKey, KeyScope
from oz_tui.tui.screens import CreateKeyScreen
from oz_tui.tui.screens.rotate_key import RotateKeyScreen, Rotation

from determinism import FIXED_NOW, FakeClock
from dialog_hosts import SIZE, Host, make_created, shown_text

#: Longer than any test takes between the first try and the retry.
PRESS_ANIMATION = 30.0


class FailsFirst:
    """A create (either dialog's shape) that fails at once the first time, then succeeds."""

    def __init__(self) -> None:
        self.calls = 0
        self.created = make_created()

    async def __call__(self, *args: Any, **kwargs: Any) -> CreatedKey:
        self.calls += 1
        if self.calls == 1:
            raise PermissionDeniedError("You may not do that right now.")
        return self.created


def create_dialog(create: FailsFirst) -> CreateKeyScreen:
    return CreateKeyScreen(create, teams=())


def rotate_dialog(create: FailsFirst) -> RotateKeyScreen:
    old = ApiKey(
        uid="old-1", name="deploy bot", key_suffix="0ld1", scope=KeyScope.PERSONAL,
        created_at=FIXED_NOW,
    )
    return RotateKeyScreen(old, create, teams=(), clock=FakeClock())


DIALOGS = {"create": (create_dialog, "#create"), "rotate": (rotate_dialog, "#rotate")}


async def press_submit(pilot: Any, submit_id: str, how: str) -> None:
    if how == "click":
        await pilot.click(submit_id)
    elif how == "enter on the button":
        pilot.app.screen.query_one(submit_id, Button).focus()
        await pilot.press("enter")
    else:  # Enter wherever focus is
        await pilot.press("enter")
    await pilot.pause()


@pytest.mark.parametrize("dialog", DIALOGS)
@pytest.mark.parametrize("how", ["enter", "enter on the button", "click"])
async def test_after_a_fast_failure_an_immediate_retry_retries(dialog: str, how: str) -> None:
    make, submit_id = DIALOGS[dialog]
    create = FailsFirst()
    screen = make(create)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        button = screen.query_one(submit_id, Button)
        button.active_effect_duration = PRESS_ANIMATION
        await press_submit(pilot, submit_id, how)
        assert create.calls == 1 and app.screen is screen
        assert "may not do that" in shown_text(screen.query_one("#failure", Static))
        assert not button.disabled and not screen.pending

        # The same way again (Enter goes where focus went after the failure).
        await press_submit(pilot, submit_id, "enter" if how != "click" else "click")
        await pilot.pause()
        assert create.calls == 2
        [result] = app.results
        if isinstance(result, Rotation):
            assert result.created is create.created
        else:
            assert result is create.created


class Gated:
    """A create that answers only when the test opens the gate (bounded)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.created = make_created(seed="gated")

    async def __call__(self, *args: Any, **kwargs: Any) -> CreatedKey:
        await asyncio.wait_for(self.gate.wait(), 10)
        return self.created


@pytest.mark.parametrize("dialog", DIALOGS)
async def test_an_answer_while_the_palette_is_open_waits_for_it_to_close(dialog: str) -> None:
    """dismiss pops the top screen: an answer that comes while the command palette is open over
    the dialog must close the dialog, not the palette, once the palette has gone."""
    make, submit_id = DIALOGS[dialog]
    create = Gated()
    screen = make(create)  # type: ignore[arg-type]
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await press_submit(pilot, submit_id, "click")
        assert screen.pending
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        create.gate.set()
        await asyncio.wait_for(app.workers.wait_for_complete(), 10)
        await pilot.pause()
        assert app.screen is palette and screen in app.screen_stack and app.results == []
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert screen not in app.screen_stack and not isinstance(app.screen, CommandPalette)
        [result] = app.results
        assert (result.created if isinstance(result, Rotation) else result) is create.created
