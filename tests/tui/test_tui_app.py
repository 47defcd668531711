"""Pilot tests for the panel (OzKeysApp): the table, create / show once / copy, delete, search,
sort, errors, hostile names. Deterministic: FakeClock, demo data, deterministic tokens."""

from __future__ import annotations

import asyncio
import gc
from datetime import timedelta
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Button, Input, Static

from oz_tui.core.models import CreatedKey, OwnerType
from oz_tui.local.store import StoredKey
from oz_tui.core.sanitize import safe_text
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens import ConfirmDeleteScreen, CreateKeyScreen, HelpScreen, ShowKeyScreen
from oz_tui.tui.screens.keys import DOCS_URL, KeysScreen
from oz_tui.tui.screens.show_key import CloseUnsavedKeyScreen
from oz_tui.tui.widgets import AuthPanel, Column, ErrorBanner, KeyTable, StatusLine
from oz_tui.tui.widgets.footer import KeysFooter
from oz_tui.tui.widgets.key_cells import key_cells, short_relative_time
from oz_tui.tui.widgets.key_table import NO_MATCH

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
from scenarios import (
    NEW_KEY_NAME,
    demo_backend,
    empty_backend,
    make_app,
    settle,
    staged_backend,
    type_text,
    unauthorized_backend,
)
from screen_check import notification_messages, notifications, unhandled_error

# Every test runs on both paths to the local store: directly, and through the GraphQL service.
pytestmark = pytest.mark.usefixtures("local_path")

WIDE = (120, 36)
NARROW = (80, 24)
#: Room for every column at its fullest (relative times in words, agents' names, Delete).
WIDEST = (160, 40)
DEMO_NAMES = {
    "CI pipeline",
    "Staging deploy bot",
    "Laptop CLI",
    "Nightly agent runs",
    "Codespaces",
    "Grafana alerts",
    "Release automation",
    "Data export",
}


def demo_app() -> tuple[OzKeysApp, Any]:
    clock = FakeClock()
    backend = demo_backend(clock, deterministic_tokens())
    return make_app(backend, clock), backend


def first_raw_key() -> str:
    """The secret of the first key created with deterministic tokens (demo keys use none)."""
    return "wk-1." + deterministic_tokens()()


def table_of(app: OzKeysApp) -> KeyTable:
    return app.screen.query_one(KeyTable) if isinstance(app.screen, KeysScreen) else (
        app.screen_stack[0].query_one(KeyTable)
    )


def keys_screen(app: OzKeysApp) -> KeysScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, KeysScreen)
    return screen


def names(table: KeyTable) -> list[str]:
    return [key.name for key in table.visible_keys]


def notifications(app: OzKeysApp) -> list[str]:
    return notification_messages(app)


def uid_of(table: KeyTable, name: str) -> str:
    return next(key.uid for key in table.keys if key.name == name)


# -- the table ---------------------------------------------------------------------------------


async def test_table_shows_demo_rows_with_relative_times_and_marks() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDEST) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert set(names(table)) == DEMO_NAMES
        # Newest first by default.
        assert names(table)[0] == "Data export"
        assert table.sort == (Column.CREATED, False)

        cells = table.displayed_cells(uid_of(table, "Data export"))
        assert cells is not None
        assert cells[:6] == (
            "Data export",
            cells[1],
            "Personal",
            "2 days ago",
            "40 minutes ago",
            "Dec 24, 2026",
        )
        assert cells[1].startswith("wk-**") and len(cells[1]) == len("wk-**abcd")
        assert cells[6] == "Delete"

        never = table.displayed_cells(uid_of(table, "Release automation"))
        assert never is not None and never[4] == "Never" and never[5] == "Never"

        team = table.displayed_cells(uid_of(table, "CI pipeline"))
        assert team is not None and team[2] == "Team" and team[3] == "4 months ago"

        soon = table.displayed_cells(uid_of(table, "Nightly agent runs"))
        assert soon is not None and soon[5] == "Nov 29, 2026 · soon"
        # Agent keys name their agent.
        assert soon[2] == "Agent · default-agent"
        deploys = table.displayed_cells(uid_of(table, "Staging deploy bot"))
        assert deploys is not None and deploys[2] == "Agent · deploy-bot"

        status = app.screen.query_one(StatusLine)
        assert status.source_plain == "Demo data (in memory)"
        assert status.summary_plain == "8 keys"
        assert not table.compact


async def test_page_has_heading_docs_button_and_search() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = keys_screen(app)
        assert str(screen.query_one("#heading", Static).content) == "API keys"
        assert DOCS_URL in str(screen.query_one("#description", Static).content)
        assert str(screen.query_one("#create", Button).label) == "+ Create API Key"
        assert screen.query_one("#search", Input).placeholder == "Search API keys"
        assert screen.query_one("#sidebar").display


async def test_the_frame_paints_while_the_first_list_is_in_flight() -> None:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    transport.gate = asyncio.Event()
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert table.loading
        assert not table.loaded
        assert str(keys_screen(app).query_one("#heading", Static).content) == "API keys"
        # list and whoami go out together.
        assert transport.requests.get("ApiKeys") == 1
        assert transport.requests.get("GetUser") == 1
        transport.gate.set()
        await settle(pilot)
        assert not table.loading
        assert len(table.visible_keys) == 8
        status = app.screen.query_one(StatusLine)
        assert status.source_plain == (
            "app.warp.dev · signed in as ada@example.com, personal key"
        )


async def test_local_status_line_names_the_path_and_owner(tmp_path, local_path) -> None:
    from oz_tui.backend import local_backend

    clock = FakeClock()
    backend = local_backend(
        tmp_path, clock=clock, token_factory=deterministic_tokens(), path=local_path
    )
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        source = app.screen.query_one(StatusLine).source_plain
        assert source.startswith("Local key service · ")
        assert str(tmp_path) in source
        assert source.endswith(" · Local owner")
        assert table_of(app).message.startswith("No API Keys")


async def test_narrow_terminal_hides_sidebar_and_fits_the_table() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = keys_screen(app)
        assert not screen.query_one("#sidebar").display
        table = table_of(app)
        assert table.compact
        cells = table.displayed_cells(uid_of(table, "Nightly agent runs"))
        assert cells == (
            "Nightly agent runs",
            cells[1],
            "Agent",
            "2mo ago",
            "9h ago",
            "Nov 29 · soon",
        )
        # Every column is on screen: nothing to scroll sideways.
        grid = table.query_one("#key-grid")
        assert grid.virtual_size.width <= grid.scrollable_content_region.width
        # The delete action is still a key away.
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)


def test_short_relative_times() -> None:
    now = FIXED_NOW
    assert short_relative_time(now - timedelta(minutes=40), now) == "40m ago"
    assert short_relative_time(now - timedelta(days=64), now) == "2mo ago"
    assert short_relative_time(None, now) == "Never"
    assert short_relative_time(now, now) == "just now"


def test_cells_are_text_never_markup() -> None:
    from oz_tui.core.models import ApiKey, KeyScope

    key = ApiKey(
        uid="u",
        name="[bold]x[/]",
        key_suffix="ab[i]",
        scope=KeyScope.PERSONAL,
        created_at=FIXED_NOW,
    )
    cells = key_cells(key, FIXED_NOW)
    assert all(isinstance(cell, Text) for cell in cells)  # a str cell would be parsed as markup
    assert cells[0].plain == "[bold]x[/]" and not cells[0].spans
    assert cells[1].plain == "wk-**ab[i]" and not cells[1].spans


# -- create, show once, copy ---------------------------------------------------------------


async def test_create_show_once_copy_done_adds_row_and_forgets_secret() -> None:
    app, backend = demo_app()
    raw = first_raw_key()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CreateKeyScreen)
        await type_text(pilot, NEW_KEY_NAME)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ShowKeyScreen)

        await pilot.press("c")
        await settle(pilot)
        assert app.clipboard == raw  # copied while the dialog is open

        await pilot.press("enter")  # Copy moved focus to Done
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)

        table = table_of(app)
        assert NEW_KEY_NAME in names(table)
        new = next(key for key in table.keys if key.name == NEW_KEY_NAME)
        assert table.highlighted_key == new
        cells = table.displayed_cells(new.uid)
        assert cells is not None
        assert cells[1] == f"wk-**{raw[-4:]}"
        assert cells[3] == "just now" and cells[4] == "Never"
        assert cells[5] == "Feb 24, 2027"  # 90 days after FIXED_NOW
        assert f"Created “{NEW_KEY_NAME}”" in notifications(app)
        assert NEW_KEY_NAME in [k.name for k in await backend.client.list_keys()]

        # The secret is gone from the app: clipboard mirror, widgets, toasts, objects.
        assert app.clipboard != raw
        for screen in app.screen_stack:
            for widget in screen.walk_children(with_self=True):
                rendered = widget.render()
                assert raw not in str(rendered)
                assert raw[-20:] not in str(getattr(widget, "content", ""))
        assert all(raw not in message for message in notifications(app))
        assert raw not in app.export_screenshot()
        gc.collect()
        assert not [obj for obj in gc.get_objects() if isinstance(obj, CreatedKey)]
        for worker in app.workers:
            assert not isinstance(worker.result, CreatedKey)


async def test_create_by_plus_and_by_button() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("plus")
        await pilot.pause()
        assert isinstance(app.screen, CreateKeyScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.click("#create")
        await pilot.pause()
        assert isinstance(app.screen, CreateKeyScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert len(table_of(app).keys) == 8


async def test_closing_without_copy_asks_first() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await type_text(pilot, NEW_KEY_NAME)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ShowKeyScreen)

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CloseUnsavedKeyScreen)
        await pilot.press("escape")  # keep the dialog
        await pilot.pause()
        assert isinstance(app.screen, ShowKeyScreen)

        await pilot.press("escape")
        await pilot.pause()
        await pilot.click("#discard")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert NEW_KEY_NAME in names(table_of(app))
        assert app.clipboard == ""


async def test_create_error_keeps_the_form() -> None:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    transport.failing["GenerateApiKey"] = 500
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await type_text(pilot, NEW_KEY_NAME)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CreateKeyScreen)
        assert app.screen.query_one("#name", Input).value == NEW_KEY_NAME
        failure = str(app.screen.query_one("#failure", Static).content)
        assert "server error (HTTP 500)" in failure
        await pilot.press("escape")
        await settle(pilot)
        assert len(table_of(app).keys) == 8


async def test_create_offers_the_signed_in_users_team() -> None:
    clock = FakeClock()
    backend, _transport = staged_backend(clock, deterministic_tokens())
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        team = app.screen.query_one("#type-team")
        assert not team.disabled


# -- delete ----------------------------------------------------------------------------------


async def test_delete_confirmed_removes_row_and_key() -> None:
    app, backend = demo_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        table = table_of(app)
        target = table.highlighted_key
        assert target is not None and target.name == "Data export"
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert target.uid not in [key.uid for key in table.keys]
        assert "Data export" not in names(table)
        assert "Deleted “Data export”" in notifications(app)
        assert target.uid not in [key.uid for key in await backend.client.list_keys()]
        assert backend.store is not None
        assert target.uid not in [key.uid for key in backend.store.active_keys()]
        # The cursor stays on a row.
        assert table.highlighted_key is not None
        assert app.screen.query_one(StatusLine).summary_plain == "7 keys"


async def test_delete_cancelled_keeps_row() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert len(table_of(app).keys) == 8
        await pilot.press("d")
        await pilot.pause()
        await pilot.click("#cancel")
        await settle(pilot)
        assert "Data export" in names(table_of(app))


async def test_an_open_dialog_shows_its_own_keys_at_the_bottom_not_the_pages() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)

        def bottom_keys() -> list[tuple[str, str]]:
            # What the bottom row of the terminal shows: the topmost screen's footer.
            footer = app.screen.query_one(KeysFooter)
            assert footer.region.bottom == WIDE[1]
            return [(key.key, key.description) for key in footer.query("FooterKey")]  # type: ignore[attr-defined]

        assert ("n", "Create") in bottom_keys()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        assert bottom_keys() == [("y", "Delete"), ("n", "Cancel")]
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert bottom_keys() == [("escape", "Close help")]


async def test_clicking_a_rows_delete_cell_asks_about_that_key() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDEST) as pilot:
        await settle(pilot)
        table = table_of(app)
        grid = table.query_one("#key-grid")
        # x of the Delete column: the widths of the columns before it.
        x = sum(column.get_render_width(grid) for column in grid.ordered_columns[:-1]) + 2
        row = names(table).index("Laptop CLI")
        await pilot.click(grid, offset=(x, row + 1))  # +1: the header line
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        assert "Laptop CLI" in str(app.screen.query_one("#question", Static).content)
        await pilot.press("escape")


async def test_delete_failure_keeps_row_and_says_why() -> None:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        transport.failing["ExpireApiKey"] = 500
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        table = table_of(app)
        assert "Data export" in names(table)
        messages = notifications(app)
        assert not any(message.startswith("Deleted") for message in messages)
        assert any(
            "Data export" in message and "server error (HTTP 500)" in message
            for message in messages
        )


# -- search and sort -------------------------------------------------------------------------


async def test_search_filters_locally_and_shows_no_match() -> None:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        requests_before = dict(transport.requests)
        table = table_of(app)
        await pilot.press("slash")
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#search")
        await type_text(pilot, "BOT")
        await pilot.pause(0.3)
        assert names(table) == ["Staging deploy bot"]
        assert app.screen.query_one(StatusLine).summary_plain == "1 of 8 keys"

        await type_text(pilot, "zz")
        await pilot.pause(0.3)
        assert names(table) == []
        assert table.message == NO_MATCH
        assert transport.requests == requests_before  # filtering never calls the server

        # Esc leaves the box; the filter stays.
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.focused is not app.screen.query_one("#search")
        assert table.filter_text == "BOTzz"


async def test_single_letter_bindings_do_not_fire_while_typing() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "ndsrq?S+")
        await pilot.pause(0.3)
        assert isinstance(app.screen, KeysScreen)
        assert app.is_running
        assert app.screen.query_one("#search", Input).value == "ndsrq?S+"
        assert table_of(app).sort == (Column.CREATED, False)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one("#search", Input).value == "ndsrq?S+"
        assert app.screen.focused is None  # no rows match: nothing to focus but the page


async def test_sort_by_header_click_and_again_reverses() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        grid = table.query_one("#key-grid")
        await pilot.click(grid, offset=(2, 0))  # the "Name" header
        await pilot.pause()
        assert table.sort == (Column.NAME, False)
        assert names(table) == sorted(DEMO_NAMES, key=str.casefold)
        await pilot.click(grid, offset=(2, 0))
        await pilot.pause()
        assert table.sort == (Column.NAME, True)
        assert names(table) == sorted(DEMO_NAMES, key=str.casefold, reverse=True)


async def test_sort_by_s_cycles_columns_and_shift_s_reverses() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("s")
        await pilot.pause()
        assert table.sort == (Column.LAST_USED, False)
        assert names(table)[0] == "CI pipeline"  # used 12 minutes ago
        assert names(table)[-2:] == ["Release automation", "Codespaces"]  # Never last
        await pilot.press("s")
        await pilot.pause()
        assert table.sort == (Column.EXPIRES, False)
        assert names(table)[0] == "Nightly agent runs"  # soonest first
        await pilot.press("S")
        await pilot.pause()
        assert table.sort == (Column.EXPIRES, True)
        assert names(table)[-1] == "Nightly agent runs"
        await pilot.press("s")
        await pilot.pause()
        assert table.sort == (Column.NAME, False)


# -- states and errors -----------------------------------------------------------------------


async def test_empty_state_says_how_to_create() -> None:
    clock = FakeClock()
    app = make_app(empty_backend(clock, deterministic_tokens()), clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        message = table_of(app).message
        assert message.startswith("No API Keys")
        assert "Press n" in message and "+ Create API Key" in message
        await pilot.press("d")  # nothing to delete: no dialog
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)


async def test_auth_error_shows_the_panel_and_how_to_fix_it() -> None:
    clock = FakeClock()
    backend, seen = unauthorized_backend(clock)
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = keys_screen(app)
        panel = screen.query_one(AuthPanel)
        assert panel.shown
        assert "refused the credential (401)" in panel.message_plain
        fix = str(panel.query_one("#auth-fix", Static).content)
        assert "WARP_API_KEY" in fix and "start oz-keys again" in fix and "press r" not in fix
        assert not table_of(app).display
        assert screen.query_one("#create", Button).disabled
        count = len(seen)
        await pilot.press("r")
        await settle(pilot)
        assert len(seen) > count
        assert panel.shown
        assert not panel.query("#auth-retry")  # retrying with the same credential can't help
        assert app.is_running
        assert unhandled_error(app) is None


async def test_network_error_on_refresh_keeps_the_last_good_table() -> None:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert len(table.keys) == 8
        transport.offline = True
        await pilot.press("r")
        await settle(pilot)
        banner = keys_screen(app).query_one(ErrorBanner)
        assert banner.shown
        assert "Could not connect to app.warp.dev" in banner.message_plain
        assert table.display and len(table.visible_keys) == 8

        transport.offline = False
        transport.failing["ApiKeys"] = 503
        await pilot.click("#banner-retry")
        await settle(pilot)
        assert banner.shown and "HTTP 503" in banner.message_plain
        assert len(table.visible_keys) == 8

        del transport.failing["ApiKeys"]
        # A Button ignores clicks during its 0.2 s "active" effect: let the last one end.
        await pilot.pause(0.3)
        await pilot.click("#banner-retry")
        await settle(pilot)
        assert not banner.shown
        assert len(table.visible_keys) == 8


async def test_hostile_names_are_shown_literally() -> None:
    clock = FakeClock()
    backend = demo_backend(clock, deterministic_tokens())
    assert backend.store is not None
    hostile = ["[bold]x[/]", "[@click=app.quit]quit[/]", "\x1b[31mred\x1b[0m", "a\u202eb"]
    for number, name in enumerate(hostile):
        backend.store.insert(
            StoredKey(
                uid=f"hostile-{number}",
                name=name,
                key_suffix=f"h{number:03d}",
                owner_type=OwnerType.USER,
                team_uid=None,
                created_at=FIXED_NOW - timedelta(hours=number + 1),
                last_used_at=None,
                expires_at=None,
                revoked_at=None,
            ),
            f"hostile:{number}",
        )
    app = make_app(backend, clock)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:  # no name is cut
        await settle(pilot)
        table = table_of(app)
        for number, name in enumerate(hostile):
            cells = table.displayed_cells(f"hostile-{number}")
            assert cells is not None
            assert cells[0] == safe_text(name)
        screenshot = app.export_screenshot()
        assert "[bold]x[/]" in screenshot
        assert "[@click=app.quit]quit[/]" in screenshot
        assert "␛[31mred␛[0m" in screenshot
        # Clicking the name with the click "action" in it does nothing of the sort.
        grid = table.query_one("#key-grid")
        row = names(table).index("[@click=app.quit]quit[/]")
        await pilot.click(grid, offset=(3, row + 1))
        await pilot.click(grid, offset=(3, row + 1))
        await pilot.pause()
        assert app.is_running
        # Delete it: the confirmation and the toast show the name literally too.
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("y")
        await settle(pilot)
        assert "[@click=app.quit]quit[/]" not in names(table)
        assert app.is_running


# -- keys, palette, lifecycle ----------------------------------------------------------------


async def test_help_and_quit() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_footer_and_palette_offer_every_action() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        shown = {
            binding.action
            for (_node, binding, enabled, _tooltip) in app.screen.active_bindings.values()
            if binding.show and enabled
        }
        assert {"create", "delete", "search", "refresh", "cycle_sort", "help", "quit"} <= shown
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in (
            "Create API key",
            "Delete API key",
            "Search API keys",
            "Refresh",
            "Sort by next column",
            "Reverse sort order",
            "Help",
            "Quit",
        ):
            assert title in titles


async def test_palette_command_runs_the_action() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        command = next(
            command for command in app.get_system_commands(app.screen)
            if command.title == "Create API key"
        )
        command.callback()
        await pilot.pause()
        assert isinstance(app.screen, CreateKeyScreen)


async def test_cursor_blink_off_reaches_dialog_inputs() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one("#name", Input).cursor_blink is False


async def test_relative_times_follow_the_clock() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDEST) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert isinstance(app.clock, FakeClock)
        app.clock.advance(timedelta(days=1))
        keys_screen(app)._tick()
        await pilot.pause()
        cells = table.displayed_cells(uid_of(table, "Data export"))
        assert cells is not None and cells[3] == "3 days ago"


async def test_the_app_closes_the_backend_on_exit() -> None:
    app, backend = demo_app()
    closed: list[bool] = []
    original = backend.aclose

    async def spy() -> None:
        closed.append(True)
        await original()

    backend.aclose = spy
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert closed == [True]


@pytest.mark.parametrize("theme", ["textual-light", "no-such-theme"])
async def test_theme_option(theme: str) -> None:
    clock = FakeClock()
    app = OzKeysApp(demo_backend(clock, deterministic_tokens()), clock=clock, theme=theme)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        if theme == "no-such-theme":
            assert app.theme == "textual-dark"
        else:
            assert app.theme == theme
        assert len(table_of(app).visible_keys) == 8
