"""Steps toward the show-once moments in the demo panel: open a new key, every way to quit or close."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static, TextArea

from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens import ShowKeyScreen
from oz_tui.tui.screens.show_key import (
    CloseUnsavedKeyScreen,
)

from determinism import FakeClock, deterministic_tokens
from scenarios import NEW_KEY_NAME, demo_backend, make_app, settle, type_text


WIDE = (120, 36)


def first_raw_key() -> str:
    return "wk-1." + deterministic_tokens()()


def demo_app() -> OzKeysApp:
    clock = FakeClock()
    return make_app(demo_backend(clock, deterministic_tokens()), clock)


async def open_new_key(pilot: Pilot[Any]) -> ShowKeyScreen:
    await settle(pilot)
    await pilot.press("n")
    await type_text(pilot, NEW_KEY_NAME)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ShowKeyScreen)
    assert screen.query_one("#secret", TextArea).text == first_raw_key()
    return screen


def question_of(app: OzKeysApp) -> str:
    screen = app.screen
    assert isinstance(screen, CloseUnsavedKeyScreen)
    return " ".join(str(screen.query_one("#question", Static).content).split())


async def run_palette_command(pilot: Pilot[Any], name: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await type_text(pilot, name)
    await pilot.pause(0.3)  # the palette searches asynchronously
    await pilot.press("enter")
    await pilot.pause(0.3)


async def trigger(pilot: Pilot[Any], way: str) -> None:
    app = pilot.app
    if way == "escape":
        await pilot.press("escape")
    elif way == "done":
        await pilot.click("#done")
    elif way == "enter-in-field":
        app.screen.query_one("#secret", TextArea).focus()
        await pilot.press("enter")
    elif way == "ctrl+q":
        await pilot.press("ctrl+q")
    elif way == "palette-quit":
        await run_palette_command(pilot, "Quit")
    elif way == "app.exit":
        app.exit()
    await pilot.pause()


QUITS = ["ctrl+q", "palette-quit", "app.exit"]


CLOSES = ["escape", "done", "enter-in-field"]
