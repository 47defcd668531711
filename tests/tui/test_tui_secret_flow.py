"""The create and rotate flows own the secret: *Save your key* shows it, and the keys page is
handed only the key's properties, never the secret (nor anything holding it). Copying to the
system clipboard runs off the event loop: a slow clipboard never freezes the panel."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest
from textual.widgets import TextArea

from oz_tui.core.models import CreatedKey, KeyScope
from oz_tui.tui import clipboard
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.screens.rotate_key import RotateKeyScreen
from oz_tui.tui.screens.show_key import ShowKeyScreen

from determinism import FakeClock, deterministic_tokens
from scenarios import NEW_KEY_NAME, demo_backend, make_app, settle
from screen_check import notification_messages


def holds(value: object, secret: str, depth: int = 0) -> bool:
    """Whether `value` is, or carries, the raw key (a CreatedKey, a Rotation, the text)."""
    if depth > 3:
        return False
    if isinstance(value, CreatedKey):
        return True
    if isinstance(value, str):
        return secret[5:37] in value
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(holds(item, secret, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(holds(item, secret, depth + 1) for item in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(
            holds(getattr(value, field.name), secret, depth + 1)
            for field in dataclasses.fields(value)
        )
    return False


@contextmanager
def calls_into(page: KeysScreen, secret: str) -> Iterator[list[str]]:
    """The page's methods (and functions it defines) called with anything carrying the secret,
    seen through Python's profiling hook while inside."""
    received: list[str] = []

    def spy(frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        local = frame.f_locals
        if local.get("self") is not page:
            return
        if any(holds(value, secret) for name, value in local.items() if name != "self"):
            received.append(frame.f_code.co_name)

    sys.setprofile(spy)
    try:
        yield received
    finally:
        sys.setprofile(None)


def assert_page_holds_no_secret(page: KeysScreen, secret: str) -> None:
    for name, value in vars(page).items():
        assert not holds(value, secret), f"the page's {name} holds the secret"
    for widget in page.walk_children(with_self=False):
        assert not holds(vars(widget), secret), f"{widget!r} on the page holds the secret"


async def open_save_your_key(pilot: Any, flow: str) -> ShowKeyScreen:
    app = pilot.app
    if flow == "create":
        await pilot.press("n", *NEW_KEY_NAME, "enter")
    else:
        page = app.screen
        table = page.table
        for _ in range(len(table.visible_keys)):  # a Personal key: rotating it needs no choice
            key = table.highlighted_key
            if key is not None and key.scope is KeyScope.PERSONAL:
                break
            await pilot.press("down")
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, RotateKeyScreen)
        await pilot.press("enter")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ShowKeyScreen)
    return screen


@pytest.mark.parametrize("flow", ["create", "rotate"])
async def test_the_page_never_receives_the_new_keys_secret(flow: str) -> None:
    clock = FakeClock()
    app = make_app(demo_backend(clock, deterministic_tokens()), clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        page = app.screen
        assert isinstance(page, KeysScreen)
        secret = "wk-1." + deterministic_tokens()()
        with calls_into(page, secret) as received:
            shown = await open_save_your_key(pilot, flow)
            assert secret in shown.query_one("#secret", TextArea).text  # the dialog has it
            assert_page_holds_no_secret(page, secret)  # while it is shown
            await pilot.press("c")
            await settle(pilot)
            await pilot.press("enter")  # Done
            await settle(pilot)
        assert app.screen is page
        assert received == [], f"the page was handed the secret in {received}"
        assert_page_holds_no_secret(page, secret)
        for screen in app.screen_stack:
            assert not holds(vars(screen), secret)
        # ... and it got what it needs: the new key is listed.
        assert any(secret.endswith(key.key_suffix) for key in page.table.keys)


class SlowClipboard:
    """A system clipboard whose helper hangs until the test lets it go (bounded)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.text: str | None = None

    def copy(self, text: str) -> None:
        self.started.set()
        self.release.wait(10)
        self.text = text


async def test_a_slow_system_clipboard_never_freezes_the_panel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow = SlowClipboard()
    monkeypatch.setattr(clipboard, "find_system_copier", lambda: slow.copy)
    # Longer than the test takes: a copy that waited on the event loop would freeze the panel
    # for all of it, then say the clipboard timed out.
    monkeypatch.setattr(clipboard, "SYSTEM_CLIPBOARD_TIMEOUT", 3.0)
    clock = FakeClock()
    app = make_app(demo_backend(clock, deterministic_tokens()), clock)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        dialog = await open_save_your_key(pilot, "create")
        await pilot.press("c")
        assert slow.started.wait(5)
        focused = app.focused
        await pilot.press("tab")  # answered while the system clipboard is still busy
        assert app.focused is not focused
        assert not slow.release.is_set() and slow.text is None
        assert not any("system clipboard" in message for message in notification_messages(app))
        slow.release.set()
        await settle(pilot)
        assert slow.text is not None and slow.text.startswith("wk-1.")
        said = notification_messages(app)[-1]
        assert "system clipboard" in said and "timed out" not in said, said
        assert app.screen is dialog
