"""A dialog's module gone from disk under a running panel (an upgrade): the panel says so in one
line and keeps running, and no key is made whose secret could not be shown."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from scenarios import demo_backend, make_app, settle

MESSAGE = "oz-keys was upgraded or changed on disk while running: restart it"

#: (the module gone, the keys that open the flow needing it)
MEMBERS = [
    ("oz_tui.tui.screens.create_key", "n"),
    ("oz_tui.tui.screens.show_key", "n"),  # Save your key: loaded before the create dialog opens
    ("oz_tui.tui.screens.help", "question_mark"),
    ("oz_tui.tui.screens.rotate_key", "action:rotate"),
    ("oz_tui.tui.screens.show_key", "action:rotate"),  # loaded before the rotate dialog opens
    ("oz_tui.tui.screens.confirm_delete", "action:delete"),
]


@pytest.mark.parametrize(("module", "key"), MEMBERS, ids=[f"{m.rsplit('.', 1)[1]}-{k}" for m, k in MEMBERS])
async def test_a_missing_dialog_is_reported_in_one_line(
    clock: Any, token_factory: Any, monkeypatch: pytest.MonkeyPatch, module: str, key: str,
    reliability: Any,
) -> None:
    backend = demo_backend(clock, token_factory)
    app = make_app(backend, clock)
    said: list[str] = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (said.append(message), notify(message, **kw))[1])
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        before = len(await backend.client.list_keys())
        screens = len(app.screen_stack)
        if key.startswith("action:"):  # the highlighted key's action, as the palette runs it
            getattr(app.screen, "action_" + key.split(":")[1])()
        else:
            await pilot.press(key)
        await settle(pilot)
        assert [line for line in said if line.startswith(MESSAGE) and "\n" not in line], said
        assert len(app.screen_stack) == screens  # no dialog, the panel still running
        assert len(await backend.client.list_keys()) == before  # nothing made on the server
    reliability.passed("secrets", "upgrade-under-panel", "outcome",
                       "create dialog, Save your key (create, rotate), rotate, delete confirmation, help missing: one-line message, panel "
                       "keeps running, no key made")



async def test_a_key_whose_save_your_key_cannot_open_is_expired_again(
    clock: Any, token_factory: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key is made, then *Save your key* can't be built (a half-replaced package): nobody
    saw its secret, so it must not stay active; the panel says so in one line and runs on."""
    from oz_tui.tui.screens import show_key
    from oz_tui.tui.screens.keys import KeysScreen

    from screen_check import notification_messages

    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise ImportError("cannot import name 'HINT'")

    backend = demo_backend(clock, token_factory)
    app = make_app(backend, clock)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        before = {key.uid for key in await backend.client.list_keys()}
        monkeypatch.setattr(show_key, "ShowKeyScreen", Broken)
        await pilot.press("n", "x", "enter")
        await settle(pilot)
        assert {key.uid for key in await backend.client.list_keys()} == before
        assert isinstance(app.screen, KeysScreen) and app.is_running
        said = notification_messages(app)[-1]
        assert "couldn't be shown" in said and "expired again" in said and "\n" not in said
