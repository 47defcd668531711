"""Rotating a key in the panel, driven through Pilot: R (or the palette), the Rotate API key
dialog, the show-once dialog, then the old key expired. A failure at each step: the create, the
expire of the old key, and the user declining to expire it."""

from __future__ import annotations

import asyncio
import gc
from datetime import datetime, timedelta
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Select, Static, TextArea

from oz_tui.core.models import ApiKey, CreatedKey, Expiration, KeyScope, Team
from oz_tui.core.rotation import Owner
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens import ShowKeyScreen
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.screens.rotate_key import NOTHING_CHANGED, RotateKeyScreen, Rotation
from oz_tui.tui.screens.show_key import QUIT_UNSAVED_QUESTION
from oz_tui.tui.widgets import KeyTable

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
from scenarios import make_app, settle, staged_backend
from show_once_steps import QUITS, question_of, trigger
from dialog_hosts import Host, fake_raw_key, shown_text
from screen_check import notification_messages, notifications

WIDE = (120, 36)


def table_of(app: OzKeysApp) -> KeyTable:
    return app.screen_stack[0].query_one(KeyTable)


def notifications(app: OzKeysApp) -> list[str]:
    return notification_messages(app)


def staged_app() -> tuple[OzKeysApp, Any, FakeClock]:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    return make_app(backend, clock), transport, clock


def first_key(app: OzKeysApp, scope: KeyScope, *, expires: bool | None = None) -> ApiKey:
    """The first listed key of `scope` (that expires or not, when `expires` says)."""
    return next(
        key
        for key in table_of(app).visible_keys
        if key.scope is scope and (expires is None or (key.expires_at is not None) is expires)
    )


async def highlight(pilot: Any, key: ApiKey) -> None:
    """Move the row cursor to `key` with the arrow keys, as a user would."""
    table = table_of(pilot.app)
    for _ in range(len(table.visible_keys)):
        if table.highlighted_key is not None and table.highlighted_key.uid == key.uid:
            return
        await pilot.press("down")
    raise AssertionError(f"{key.name} not reachable")


async def open_rotate(pilot: Any, key: ApiKey) -> RotateKeyScreen:
    await highlight(pilot, key)
    await pilot.press("R")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, RotateKeyScreen)
    return screen


async def save_shown_key(pilot: Any) -> str:
    """Copy the key in the show-once dialog and close it; returns what the dialog showed."""
    app = pilot.app
    assert isinstance(app.screen, ShowKeyScreen)
    secret = app.screen.query_one("#secret").text
    await pilot.press("c")
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    return secret


def writes(transport: Any) -> tuple[int, int]:
    return transport.requests.get("GenerateApiKey", 0), transport.requests.get("ExpireApiKey", 0)


# -- the rotated key is shown once, with the same guards as a created one -------------------------


@pytest.mark.parametrize("way", QUITS)
async def test_quitting_before_the_rotated_key_was_copied_asks_first(way: str) -> None:
    """ctrl+q, the palette's Quit and app.exit on the rotated key's show-once dialog ask first;
    n keeps the dialog with the secret and the old key active; y quits and wipes the secret."""
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        await open_rotate(pilot, old)
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ShowKeyScreen)
        field = dialog.query_one("#secret", TextArea)
        secret = field.text
        assert secret.startswith("wk-1.")

        await trigger(pilot, way)
        assert question_of(app) == QUIT_UNSAVED_QUESTION
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is dialog and app.is_running and app.return_code is None
        assert field.text == secret
        assert writes(transport) == (1, 0)  # nothing expired while the key is unsaved

        await trigger(pilot, way)
        await pilot.press("y")
        await pilot.pause()
        assert app.return_code == 0
        assert field.text == ""
        assert writes(transport) == (1, 0)  # quitting unsaved never expires the old key


# -- the whole rotation --------------------------------------------------------------------------


async def test_rotate_creates_a_like_key_shows_it_once_then_expires_the_old_one() -> None:
    app, transport, clock = staged_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        lists_before = transport.requests["ApiKeys"]
        screen = await open_rotate(pilot, old)

        plan = shown_text(screen.query_one("#plan", Static))
        lifetime = old.expires_at - old.created_at  # type: ignore[operator]
        assert old.name in plan and "Personal" in plan
        new_expiry = clock() + lifetime
        assert f"{new_expiry:%b} {new_expiry.day}, {new_expiry.year}" in plan
        assert screen.query_one("#expire-old", Checkbox).value is True  # default: yes
        assert app.focused is screen.query_one("#rotate", Button)

        await pilot.press("enter")
        await settle(pilot)
        secret = await save_shown_key(pilot)
        assert secret.startswith("wk-1.")
        assert isinstance(app.screen, KeysScreen)

        table = table_of(app)
        assert old.uid not in {key.uid for key in table.keys}
        [new] = [key for key in table.keys if key.name == old.name]
        assert new.uid != old.uid and new.key_suffix == secret[-4:]
        assert new.scope is KeyScope.PERSONAL
        assert new.expires_at - new.created_at == lifetime  # type: ignore[operator]
        assert table.highlighted_key == new
        assert any("the old key" in m and "is expired" in m for m in notifications(app))
        # Exactly one create and one expire; the table is updated without listing again.
        assert writes(transport) == (1, 1)
        assert transport.requests["ApiKeys"] == lists_before
        # The secret is gone from the app once the dialog closed: no toast, no object holds it.
        assert all(secret not in m for m in notifications(app))
        gc.collect()
        assert not [obj for obj in gc.get_objects() if isinstance(obj, (CreatedKey, Rotation))]


async def test_rotate_from_the_command_palette() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Rotate API key")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RotateKeyScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen) and writes(transport) == (0, 0)


async def test_a_never_expiring_team_key_is_replaced_in_the_only_team_and_never_expires() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.TEAM, expires=False)
        screen = await open_rotate(pilot, old)
        plan = shown_text(screen.query_one("#plan", Static))
        assert "Team Platform" in plan and "Never, like the old key" in plan
        await pilot.press("enter")
        await settle(pilot)
        await save_shown_key(pilot)
        [new] = [key for key in table_of(app).keys if key.name == old.name]
        assert new.scope is KeyScope.TEAM and new.expires_at is None and new.uid != old.uid


# -- a failure at each step ----------------------------------------------------------------------


async def test_create_fails_nothing_changes_and_the_dialog_says_so() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = table_of(app).keys
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        transport.failing["GenerateApiKey"] = 403
        screen = await open_rotate(pilot, old)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen  # the dialog stays, with the reason
        failure = str(screen.query_one("#failure", Static).content)
        assert "may not do that" in failure and failure.endswith(NOTHING_CHANGED)
        assert writes(transport) == (1, 0)
        # Try again once the server is well: the same dialog rotates.
        del transport.failing["GenerateApiKey"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ShowKeyScreen)
        await save_shown_key(pilot)
        assert writes(transport) == (2, 1)
        assert old.uid not in {key.uid for key in table_of(app).keys}
        assert len(table_of(app).keys) == len(before)


async def test_create_with_an_unknown_outcome_says_it_may_exist() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        transport.failing["GenerateApiKey"] = 500
        screen = await open_rotate(pilot, old)
        await pilot.press("enter")
        await settle(pilot)
        failure = str(screen.query_one("#failure", Static).content)
        assert "may have been created" in failure and NOTHING_CHANGED not in failure
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert old.uid in {key.uid for key in table_of(app).keys}


async def test_expire_of_the_old_key_fails_the_new_key_stays_and_the_error_names_the_old() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        transport.failing["ExpireApiKey"] = 500
        await open_rotate(pilot, old)
        await pilot.press("enter")
        await settle(pilot)
        await save_shown_key(pilot)
        keys = table_of(app).keys
        assert old.uid in {key.uid for key in keys}
        assert len([key for key in keys if key.name == old.name]) == 2
        [error] = [m for m in notifications(app) if "still active" in m]
        assert old.uid in error and old.name in error and "HTTP 500" in error
        gc.collect()
        assert not [obj for obj in gc.get_objects() if isinstance(obj, (CreatedKey, Rotation))]
        assert writes(transport) == (1, 1)


async def test_declining_to_expire_the_old_key_keeps_both() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        screen = await open_rotate(pilot, old)
        await pilot.click("#expire-old")
        await pilot.pause()
        assert screen.query_one("#expire-old", Checkbox).value is False
        await pilot.click("#rotate")
        await settle(pilot)
        await save_shown_key(pilot)
        names = [key.name for key in table_of(app).keys]
        assert names.count(old.name) == 2 and old.uid in {key.uid for key in table_of(app).keys}
        assert writes(transport) == (1, 0)
        assert any("still active" in m and "delete it (d)" in m for m in notifications(app))


async def test_cancel_sends_nothing() -> None:
    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await open_rotate(pilot, first_key(app, KeyScope.PERSONAL, expires=True))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen) and writes(transport) == (0, 0)


async def test_a_team_key_cant_be_rotated_while_the_teams_are_unknown() -> None:
    app, transport, _clock = staged_app()
    transport.failing["GetUser"] = 500
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = await open_rotate(pilot, first_key(app, KeyScope.TEAM))
        assert "teams aren't known" in str(screen.query_one("#problem", Static).content)
        assert screen.query_one("#rotate", Button).disabled
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and writes(transport) == (0, 0)


# -- the dialog on its own: a Team key and several teams ------------------------------------------


class RecordingCreate:
    def __init__(self) -> None:
        self.calls: list[tuple[Owner, Expiration | datetime]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, owner: Owner, expiration: Expiration | datetime) -> CreatedKey:
        self.calls.append((owner, expiration))
        await self.gate.wait()
        raw = fake_raw_key("rotate")
        key = ApiKey(uid="new", name="CI", key_suffix=raw[-4:], scope=KeyScope.TEAM,
                     created_at=FIXED_NOW)
        return CreatedKey(key, raw)


TEAM_KEY = ApiKey(
    uid="old", name="CI", key_suffix="abcd", scope=KeyScope.TEAM,
    created_at=FIXED_NOW - timedelta(days=10), expires_at=FIXED_NOW + timedelta(days=20),
)
TEAMS = (Team("team-1", "Engines"), Team("team-2", "Looms"))


async def test_with_several_teams_the_team_must_be_chosen_first() -> None:
    create = RecordingCreate()
    app = Host(RotateKeyScreen(TEAM_KEY, create, teams=TEAMS, clock=lambda: FIXED_NOW))
    async with app.run_test(size=WIDE) as pilot:
        screen = app.screen
        assert screen.query_one("#rotate", Button).disabled
        assert app.focused is screen.query_one("#team", Select)
        screen.query_one("#team", Select).value = "team-2"
        await pilot.pause()
        assert not screen.query_one("#rotate", Button).disabled
        await pilot.click("#rotate")
        await pilot.pause()
        [(owner, expiration)] = create.calls
        assert owner.create_options() == {"team_id": "team-2"}
        # 30 days, as the old key had, counted from now.
        assert expiration == FIXED_NOW + timedelta(days=30)
        [result] = app.results
        assert isinstance(result, Rotation) and result.expire_old
        assert "wk-1." not in repr(result)


async def test_esc_while_creating_stops_waiting_and_says_the_key_may_exist() -> None:
    create = RecordingCreate()
    create.gate.clear()
    app = Host(RotateKeyScreen(TEAM_KEY, create, teams=TEAMS[:1], clock=lambda: FIXED_NOW))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert str(app.screen.query_one("#cancel", Button).label) == "Stop waiting"
        await pilot.press("escape")
        await pilot.pause()
        assert "may have been created" in str(app.screen.query_one("#failure", Static).content)
        assert app.results == []
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_an_agent_key_without_its_agent_uid_is_refused_with_the_reason() -> None:
    agent_key = ApiKey(uid="a", name="bot", key_suffix="ffff", scope=KeyScope.AGENT,
                       created_at=FIXED_NOW, agent_name="triage")
    app = Host(RotateKeyScreen(agent_key, RecordingCreate(), teams=(), clock=lambda: FIXED_NOW))
    async with app.run_test(size=WIDE):
        assert "which agent" in str(app.screen.query_one("#problem", Static).content)
        assert app.screen.query_one("#rotate", Button).disabled


async def test_hostile_names_stay_literal_in_the_dialog() -> None:
    hostile = ApiKey(uid="h", name="[bold]x[/] \x1b[31mred", key_suffix="1234",
                     scope=KeyScope.PERSONAL, created_at=FIXED_NOW)
    app = Host(RotateKeyScreen(hostile, RecordingCreate(), teams=(), clock=lambda: FIXED_NOW))
    async with app.run_test(size=WIDE):
        question = shown_text(app.screen.query_one("#question", Static))
        assert "[bold]x[/]" in question and "\x1b" not in question and "␛" in question


async def test_rotate_from_the_details_view_acts_on_that_key() -> None:
    from oz_tui.tui.screens.key_details import KeyDetailsScreen

    app, transport, _clock = staged_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        old = first_key(app, KeyScope.PERSONAL, expires=True)
        await highlight(pilot, old)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, KeyDetailsScreen)
        await pilot.press("R")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RotateKeyScreen)
        assert old.name in shown_text(screen.query_one("#question", Static))
        await pilot.press("enter")
        await settle(pilot)
        await save_shown_key(pilot)
        assert old.uid not in {key.uid for key in table_of(app).keys}
        assert writes(transport) == (1, 1)
