"""Pilot tests for key hygiene in the panel: details, marks and deleting many keys at once,
search qualifiers, and the layout (stable columns at 80, uid from about 160, the sidebar, j/k/g/G).
Deterministic: FakeClock, demo data, deterministic tokens."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console
from textual.widgets import Static

from oz_tui.core.models import ApiKey, OwnerType
from oz_tui.backend import remote_backend
from oz_tui.local import LocalService
from oz_tui.local.demo import demo_uid
from oz_tui.local.store import StoredKey
from oz_tui.tui.app import OzKeysApp
from oz_tui.tui.screens import ConfirmDeleteScreen, HelpScreen
from oz_tui.tui.screens.bulk_delete import BulkDeleteOutcomeScreen, ConfirmBulkDeleteScreen
from oz_tui.tui.screens.key_details import KeyDetailsScreen
from oz_tui.tui.screens.keys import KeysScreen
from oz_tui.tui.widgets import Column, KeyTable, SearchHint, StatusLine
from oz_tui.tui.widgets.key_grid import KeyGrid
from oz_tui.tui.widgets.key_cells import MARK, MARK_FAILED

from determinism import FIXED_NOW, FakeClock, deterministic_tokens
from scenarios import (
    FAKE_API_KEY,
    SERVER_ROOT,
    StagedTransport,
    demo_backend,
    make_app,
    operation_of,
    settle,
    staged_backend,
    type_text,
)
from screen_check import notification_messages, notifications

WIDE = (120, 36)
NARROW = (80, 24)


def demo_app() -> tuple[OzKeysApp, Any]:
    clock = FakeClock()
    backend = demo_backend(clock, deterministic_tokens())
    return make_app(backend, clock), backend


def table_of(app: OzKeysApp) -> KeyTable:
    return app.screen_stack[0].query_one(KeyTable)


def keys_screen(app: OzKeysApp) -> KeysScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, KeysScreen)
    return screen


def names(table: KeyTable) -> list[str]:
    return [key.name for key in table.visible_keys]


def summary(app: OzKeysApp) -> str:
    return app.screen_stack[0].query_one(StatusLine).summary_plain


def notifications(app: OzKeysApp) -> list[str]:
    return notification_messages(app)


async def highlight(pilot: Any, table: KeyTable, name: str) -> ApiKey:
    """Move the cursor (with the keyboard) to the row of `name`."""
    await pilot.press("g")
    for _ in range(len(table.visible_keys)):
        key = table.highlighted_key
        assert key is not None
        if key.name == name:
            return key
        await pilot.press("j")
    raise AssertionError(f"{name!r} is not shown")


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (a Rich table rendered, lines stripped)."""
    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, color_system=None, file=io.StringIO(), legacy_windows=False)
    with console.capture() as capture:
        console.print(content)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


# -- details -------------------------------------------------------------------------------------


async def test_enter_opens_the_details_and_esc_returns_to_the_same_row() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        key = await highlight(pilot, table, "Nightly agent runs")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, KeyDetailsScreen) and screen.key == key
        fields = plain(screen.query_one("#fields", Static))
        assert "Nightly agent runs" in fields
        assert key.uid in fields and key.masked in fields
        # An Agent key (in the demo data since Agent keys) names its agent.
        assert key.agent_name and f"Agent · {key.agent_name}" in fields
        # Exact local time (the app's zone, CET in tests) and UTC, then relative.
        assert "2026-11-29 13:00:00 CET · 2026-11-29 12:00:00 UTC" in fields
        assert "(in 3 days)" in fields and "(9 hours ago)" in fields
        assert "Days left  3 days" in fields
        assert "expiring soon" in fields
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert table.highlighted_key == key
        assert app.focused is table.query_one(KeyGrid)


async def test_details_show_badges_for_never_used_and_never_expiring_keys() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await highlight(pilot, table, "Release automation")
        await pilot.press("enter")
        await settle(pilot)
        fields = plain(app.screen.query_one("#fields", Static))
        assert "never expires" in fields and "never used" in fields
        assert "Last used  Never" in fields and "Days left  No expiry" in fields
        await pilot.press("escape")
        await highlight(pilot, table, "CI pipeline")  # 142 days old, used 12 minutes ago
        await pilot.press("enter")
        await settle(pilot)
        fields = plain(app.screen.query_one("#fields", Static))
        assert "never used" not in fields and "idle" not in fields
        assert "never expires" in fields


async def test_a_click_on_a_name_opens_its_details() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        grid = table.query_one(KeyGrid)
        # Row 3 (Codespaces), on its name.
        await pilot.click(grid, offset=(4, 3))
        await settle(pilot)
        assert isinstance(app.screen, KeyDetailsScreen)
        assert app.screen.key.name == names(table)[2]
        await pilot.press("escape")
        await settle(pilot)
        # A click elsewhere in a row only highlights it.
        await pilot.click(grid, offset=(40, 5))
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert table.highlighted_key == table.visible_keys[4]


async def test_details_copy_the_uid_and_delete_through_the_usual_confirmation() -> None:
    app, backend = demo_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        table = table_of(app)
        key = await highlight(pilot, table, "Codespaces")
        await pilot.press("enter")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, KeyDetailsScreen)
        copied: list[str] = []

        def fake_copy(text: str) -> Any:
            from oz_tui.tui.clipboard import ClipboardResult

            copied.append(text)
            return ClipboardResult(terminal=True, system=False)

        details._copy = fake_copy
        await pilot.press("c")
        await settle(pilot)  # the system clipboard is copied to in a thread worker
        assert copied == [key.uid]
        assert any("Uid sent to your terminal" in message for message in notifications(app))
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDeleteScreen)
        await pilot.press("y")
        await settle(pilot)
        assert key.uid not in {k.uid for k in table.keys}
        assert key.uid not in {k.uid for k in await backend.client.list_keys()}


async def test_details_offer_rotate() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query("#rotate")  # what it does: tests/tui/test_tui_rotate.py


# -- marks ---------------------------------------------------------------------------------------


async def test_space_marks_and_the_status_line_counts_them() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        first = table.highlighted_key
        assert first is not None
        await pilot.press("space")
        await pilot.pause()
        assert table.marked_keys == (first,)
        assert summary(app) == "8 keys · 1 marked"
        grid = table.query_one(KeyGrid)
        assert grid.ordered_columns[0].key == "mark"
        # The mark is drawn in its column.
        assert MARK in app.export_screenshot()
        await pilot.press("j", "space", "j", "space")
        await pilot.pause()
        assert len(table.marked_keys) == 3
        assert summary(app) == "8 keys · 3 marked"
        await pilot.press("space")  # again: unmarks
        await pilot.pause()
        assert len(table.marked_keys) == 2


async def test_mark_every_shown_key_and_clear_the_marks() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("slash")
        await type_text(pilot, "scope:team")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert {key.name for key in table.marked_keys} == set(names(table))
        assert len(table.marked_keys) == 2
        # Marks stay when the search changes: hidden keys are still marked (and counted).
        await pilot.press("escape")
        await settle(pilot)
        assert table.filter_text == ""
        assert len(table.marked_keys) == 2 and summary(app) == "8 keys · 2 marked"
        await pilot.press("A")
        await pilot.pause()
        assert table.marked_keys == () and summary(app) == "8 keys"


async def test_the_mouse_marks_in_the_marks_column() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        grid = table.query_one(KeyGrid)
        await pilot.click(grid, offset=(0, 2))
        await pilot.pause()
        assert table.marked_keys == (table.visible_keys[1],)
        assert isinstance(app.screen, KeysScreen)  # marking opens nothing
        await pilot.click(grid, offset=(0, 2))
        await pilot.pause()
        assert table.marked_keys == ()


class FailingExpires(StagedTransport):
    """The demo service behind app.warp.dev, where expiring any of `failing_uids` answers 500;
    every expire request is recorded by uid."""

    def __init__(self, service: LocalService, failing_uids: set[str]) -> None:
        super().__init__(service)
        self.failing_uids = failing_uids
        self.expired: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if operation_of(request) == "ExpireApiKey":
            variables = json.loads(request.content)["variables"]
            uid = variables["keyUid"] if "keyUid" in variables else variables["input"]["keyUID"]
            self.expired.append(uid)
            if uid in self.failing_uids:
                return httpx.Response(500, content=b"")
        return await super().handle_async_request(request)


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_bulk_delete_with_a_partial_failure_keeps_the_failed_key_marked() -> None:
    clock = FakeClock()
    service = LocalService.demo(clock=clock, token_factory=deterministic_tokens())
    transport = FailingExpires(service, {demo_uid(3)})  # Laptop CLI
    backend = remote_backend(
        SERVER_ROOT, FAKE_API_KEY, clock=clock, transport=transport, max_retries=0,
        sleep=_no_sleep,
    )
    backend.service = service
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        table = table_of(app)
        by_name = {key.name: key for key in table.keys}
        doomed = [by_name[name] for name in ("Codespaces", "Laptop CLI", "Grafana alerts")]
        failing = by_name["Laptop CLI"]
        assert failing.uid == demo_uid(3)
        for key in doomed:
            await highlight(pilot, table, key.name)
            await pilot.press("space")
        await pilot.press("d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmBulkDeleteScreen)
        question = plain(confirm.query_one("#question", Static))
        listed = plain(confirm.query_one("#names-list", Static))
        assert question == "Delete 3 API keys?"
        assert all(key.name in listed and key.masked in listed for key in doomed)
        await pilot.press("y")
        await settle(pilot)
        # Each key tried once, none retried.
        assert sorted(transport.expired) == sorted(key.uid for key in doomed)
        # The two that went are gone; the failed one is listed, marked, with its reason.
        assert {key.name for key in table.keys} == {
            key.name for key in by_name.values()
        } - {"Codespaces", "Grafana alerts"}
        assert table.marked_keys == (failing,)
        assert failing.uid in table.mark_failures
        assert summary(app) == "6 keys · 1 marked (1 failed)"
        outcome = app.screen
        assert isinstance(outcome, BulkDeleteOutcomeScreen)
        text = plain(outcome.query_one("#outcome-list", Static))
        assert plain(outcome.query_one("#title", Static)) == "Deleted 2 of 3 API keys; 1 failed."
        reason = table.mark_failures[failing.uid]
        assert reason and f"✗ Laptop CLI  {failing.masked} — {reason}" in text
        assert "✓ Codespaces" in text and "✓ Grafana alerts" in text
        await pilot.press("escape")
        await settle(pilot)
        # The failed key reads as failed in its row and in its details.
        assert MARK_FAILED in app.export_screenshot()
        await highlight(pilot, table, "Laptop CLI")
        await pilot.press("enter")
        await settle(pilot)
        assert "Delete failed" in plain(app.screen.query_one("#fields", Static))
        await pilot.press("escape")
        # Trying again (d) asks again and tries only the still-marked key.
        transport.failing_uids.clear()
        await pilot.press("d")
        await settle(pilot)
        assert plain(app.screen.query_one("#question", Static)) == "Delete 1 API key?"
        await pilot.press("y")
        await settle(pilot)
        assert transport.expired.count(failing.uid) == 2
        assert table.marked_keys == () and summary(app) == "5 keys"
        assert "Deleted 1 API key." in notifications(app)


async def test_bulk_delete_cancelled_deletes_nothing_and_keeps_the_marks() -> None:
    app, backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("a")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmBulkDeleteScreen)
        await pilot.press("enter")  # Cancel has focus
        await settle(pilot)
        assert len(table.marked_keys) == 8
        assert len(await backend.client.list_keys()) == 8


async def test_bulk_delete_calls_out_the_credential_in_use() -> None:
    clock = FakeClock()
    backend, _transport = staged_backend(clock, deterministic_tokens())
    assert backend.service is not None
    # A key whose last four are the signed-in credential's (scenarios.FAKE_API_KEY ends c0de).
    backend.service.store.insert(
        StoredKey(
            uid="in-use", name="This laptop", key_suffix="c0de", owner_type=OwnerType.USER,
            team_uid=None, created_at=FIXED_NOW - timedelta(days=1), last_used_at=FIXED_NOW,
            expires_at=None, revoked_at=None,
        ),
        "in-use-hash",
    )
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("a", "d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmBulkDeleteScreen)
        assert plain(confirm.query_one("#question", Static)) == "Delete 9 API keys?"
        warning = plain(confirm.query_one("#in-use", Static))
        assert "signed in with “This laptop” (wk-**c0de)" in warning
        listed = plain(confirm.query_one("#names-list", Static))
        assert "This laptop  wk-**c0de  (signed in with this key)" in listed
        assert "Data export" in listed and "(signed in" not in listed.split("Data export")[1][:30]
        await pilot.press("n")
        await settle(pilot)
        assert len(table.keys) == 9
        # Its details say so too.
        await highlight(pilot, table, "This laptop")
        await pilot.press("enter")
        await settle(pilot)
        assert "signed in with this key" in plain(app.screen.query_one("#note", Static))
        await pilot.press("escape")
        await highlight(pilot, table, "Data export")
        await pilot.press("enter")
        await settle(pilot)
        assert not app.screen.query("#note")


async def test_bulk_delete_of_two_keys_that_match_the_credential_warns_of_both() -> None:
    # A listing shows a key's last four characters only, so two keys can match the credential.
    clock = FakeClock()
    backend, _transport = staged_backend(clock, deterministic_tokens())
    assert backend.service is not None
    for uid, name in (("in-use-1", "This laptop"), ("in-use-2", "Old laptop")):
        backend.service.store.insert(
            StoredKey(
                uid=uid, name=name, key_suffix="c0de", owner_type=OwnerType.USER,
                team_uid=None, created_at=FIXED_NOW - timedelta(days=1), last_used_at=None,
                expires_at=None, revoked_at=None,
            ),
            f"{uid}-hash",
        )
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("a", "d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmBulkDeleteScreen)
        warning = plain(confirm.query_one("#in-use", Static))
        assert "“This laptop” (wk-**c0de)" in warning and "“Old laptop” (wk-**c0de)" in warning
        await pilot.press("n")
        await settle(pilot)
        assert len(table_of(app).keys) == 10


async def test_stop_waiting_on_a_bulk_delete_says_keys_may_be_gone() -> None:
    clock = FakeClock()
    backend, transport = staged_backend(clock, deterministic_tokens())
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        import asyncio

        await pilot.press("a", "d")
        await settle(pilot)
        transport.gate = asyncio.Event()
        await pilot.press("y")
        await pilot.pause()
        assert summary(app).startswith("Deleting…")
        await pilot.press("escape")
        await pilot.pause()
        transport.gate.set()
        await settle(pilot)
        assert any("some of the 8 marked keys may have been deleted" in message
                   for message in notifications(app))
        assert not summary(app).startswith("Deleting…")


# -- search qualifiers ---------------------------------------------------------------------------


async def search(pilot: Any, text: str) -> None:
    await pilot.press("slash")
    await pilot.press("ctrl+u")
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(pilot)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scope:personal", {"Data export", "Release automation", "Codespaces", "Laptop CLI"}),
        ("scope:team", {"Grafana alerts", "CI pipeline"}),
        ("scope:agent", {"Staging deploy bot", "Nightly agent runs"}),
        ("agent:anyone", set()),
        ("expires:<7d", {"Nightly agent runs"}),
        ("expires:>30d", {"Laptop CLI", "Codespaces"}),
        ("expires:never", {"CI pipeline", "Grafana alerts", "Release automation"}),
        ("used:never", {"Codespaces", "Release automation"}),
        ("idle:>15d", {"Codespaces"}),  # never used, created 18 days ago
        ("created:<7d", {"Data export"}),
        ("created:<8d scope:personal", {"Data export", "Release automation"}),
        ("created:<1w", {"Data export"}),  # Release automation is exactly a week old
        ("deploy", {"Staging deploy bot"}),
        ("00000000-0000-4000-8000-000000000006", {"Grafana alerts"}),
    ],
)
async def test_every_qualifier_filters_the_panel(text: str, expected: set[str]) -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await search(pilot, text)
        assert set(names(table)) == expected
        assert table.search_hint == ""
        assert not app.screen.query_one(SearchHint).display


async def test_the_last_four_find_a_key_bare_or_masked() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        target = table.visible_keys[3]
        await search(pilot, target.key_suffix)
        assert names(table) == [target.name]
        await search(pilot, target.masked)
        assert names(table) == [target.name]


async def test_a_bad_qualifier_shows_an_inline_hint_and_the_rest_still_filters() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        table = table_of(app)
        hint = app.screen.query_one(SearchHint)
        await search(pilot, "expires:<7x scope:team")
        assert hint.display and "unknown unit 'x'" in hint.hint
        assert set(names(table)) == {"Grafana alerts", "CI pipeline"}
        await search(pilot, "colour:blue")
        assert "unknown qualifier colour:" in hint.hint
        # What was typed is quoted literally, never read as markup.
        await search(pilot, "scope:[b]red[/b]")
        assert "scope:[b]red[/b]" in hint.hint
        assert "scope:[b]red[/b]" in plain(hint)
        await search(pilot, "scope:team")
        assert not hint.display and hint.hint == ""


async def test_esc_leaves_the_search_box_then_clears_it_and_ctrl_u_clears_too() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        screen = keys_screen(app)
        await pilot.press("slash")
        await type_text(pilot, "grafana")
        await pilot.pause(0.3)  # the search filters once the typing pauses
        await settle(pilot)
        assert names(table) == ["Grafana alerts"]
        await pilot.press("escape")  # leaves the box; the search stays
        await pilot.pause()
        assert app.focused is table.query_one(KeyGrid)
        assert screen.search_box.value == "grafana" and names(table) == ["Grafana alerts"]
        await pilot.press("escape")  # again: clears it
        await settle(pilot)
        assert screen.search_box.value == "" and len(names(table)) == 8
        # ctrl+u in the box, and out of it.
        await pilot.press("slash")
        await type_text(pilot, "laptop")
        await pilot.pause(0.3)
        await settle(pilot)
        assert names(table) == ["Laptop CLI"]
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert screen.search_box.value == "" and len(names(table)) == 8
        assert app.focused is screen.search_box
        await type_text(pilot, "ci")
        await pilot.press("enter")
        await settle(pilot)
        assert table.filter_text == "ci"
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert screen.search_box.value == "" and table.filter_text == ""


async def test_time_qualifiers_follow_the_clock() -> None:
    clock = FakeClock()
    app = make_app(demo_backend(clock, deterministic_tokens()), clock)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        await search(pilot, "expires:<7d")
        assert names(table) == ["Nightly agent runs"]
        clock.advance(timedelta(days=20))  # Staging deploy bot now expires within 7 days
        keys_screen(app)._tick()
        await settle(pilot)
        assert set(names(table)) == {"Staging deploy bot"}


async def test_help_lists_the_qualifiers_and_the_new_keys() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = plain(app.screen.query_one("#search-help", Static))
        for qualifier in ("scope:personal|team|agent", "agent:NAME", "expires:<7d",
                          "expires:>30d", "expires:never", "used:never", "idle:>90d",
                          "created:<7d"):
            assert qualifier in text
        keys = plain(app.screen.query_one("#keys", Static))
        assert "Space" in keys and "ctrl+u" in keys and "j k" in keys


# -- layout --------------------------------------------------------------------------------------


def column_layout(table: KeyTable) -> list[tuple[str, int]]:
    grid = table.query_one(KeyGrid)
    return [(column.key, column.content_width) for column in grid.ordered_columns]


async def test_at_80_columns_the_columns_stay_put_whatever_the_sort() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        table = table_of(app)
        first = column_layout(table)
        seen = set()
        for column in Column:
            for reverse in (False, True):
                table.sort_by(column, reverse)
                await pilot.pause()
                assert column_layout(table) == first, (column, reverse)
                seen.add(table.displayed_cells(table.visible_keys[0].uid)[0])  # type: ignore[index]
        # Names are whole (none is cut), and nothing needs sideways scrolling.
        assert all("…" not in name for name in seen)
        grid = table.query_one(KeyGrid)
        assert grid.virtual_size.width <= grid.scrollable_content_region.width


async def test_the_delete_column_goes_before_any_name_is_cut() -> None:
    clock = FakeClock()
    backend = demo_backend(clock, deterministic_tokens())
    assert backend.store is not None
    long_name = "Quarterly reporting pipeline (EU)"[:30]
    backend.store.insert(
        StoredKey(
            uid="long", name=long_name, key_suffix="l0ng", owner_type=OwnerType.USER,
            team_uid=None, created_at=FIXED_NOW - timedelta(days=3), last_used_at=None,
            expires_at=None, revoked_at=None,
        ),
        "long-hash",
    )
    app = make_app(backend, clock)
    # Room for every column but Delete with the long name whole (the table used to keep
    # Delete and cut the name).
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot)
        table = table_of(app)
        keys = [key for key, _width in column_layout(table)]
        assert "action" not in keys
        assert table.displayed_cells("long")[0] == long_name  # type: ignore[index]
        # Narrower still: only then is the name cut, to the room left.
        await pilot.resize_terminal(86, 30)
        await settle(pilot)
        cut = table.displayed_cells("long")[0]  # type: ignore[index]
        assert cut.endswith("…") and long_name.startswith(cut[:-1])


# 180 and up: the demo's Agent keys name their agent in the Scope column ("Agent · triage-agent"),
# which the layouts keep before the uid (at 160 the uid gives way to the agent's name).
@pytest.mark.parametrize("width", [180, 200])
async def test_wide_terminals_show_the_uid_and_the_expiry_time(width: int) -> None:
    app, _backend = demo_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await settle(pilot)
        table = table_of(app)
        assert table.wide
        key = next(key for key in table.keys if key.name == "Nightly agent runs")
        cells = table.displayed_cells(key.uid)
        assert cells is not None
        assert cells[5] == "2026-11-29 12:00 · soon" and cells[6] == key.uid
        headers = [column.label.plain for column in table.query_one(KeyGrid).ordered_columns]
        assert "Uid" in headers and "Expires at (UTC)" in headers
        # The columns are as wide as their widest cell (worked out without drawing them all).
        widths = dict(column_layout(table))
        shown = [table.displayed_cells(key.uid) for key in table.visible_keys]
        assert widths["expires"] == max(len(cells[5]) for cells in shown)  # type: ignore[index]
        assert widths["uid"] == max(len(cells[6]) for cells in shown)  # type: ignore[index]


async def test_at_120_columns_every_column_fits_and_not_the_uid() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        # With the demo's agent keys ("Agent · default-agent") the times go short and Delete
        # goes (d still deletes) before an agent's name or a key's name is cut.
        assert not table.wide
        for key in table.visible_keys:
            cells = table.displayed_cells(key.uid)
            assert cells is not None and cells[0] == key.name  # no name is cut
            if key.agent_name:
                assert key.agent_name in cells[2]  # nor an agent's name
        grid = table.query_one(KeyGrid)
        assert grid.virtual_size.width <= grid.scrollable_content_region.width


async def test_the_sidebar_fits_cloud_platform_on_one_line_at_120_columns() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one("#sidebar")
        section = sidebar.query_one(".-section", Static)
        assert plain(section) == "Cloud platform" and section.size.height == 1
        others = sidebar.query(".-other")
        assert others and all(not widget.can_focus for widget in others)
        assert "in Warp only" in plain(sidebar.query_one(".-note", Static))
        # Clicking an inert entry does nothing: the same page, the same focus.
        focused = app.focused
        await pilot.click(others.first())
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen) and app.focused is focused


async def test_at_120_columns_every_sidebar_entry_reads_on_one_line() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one("#sidebar")
        entries = sidebar.query(".-title, .-other, .-section, .-page")
        assert {plain(entry) for entry in entries} >= {"Oz Cloud API Keys", "Keyboard shortcuts"}
        for entry in entries:
            assert entry.size.height == 1, plain(entry)
        # The note breaks where it reads well, not where the width runs out.
        note = sidebar.query_one(".-note", Static)
        drawn = [strip.text.strip() for strip in note.render_lines(note.region.reset_offset)]
        assert drawn == ["Dimmed:", "in Warp only"]
        # Below 120 the sidebar keeps its 16 columns, so the table's room there is unchanged.
        await pilot.resize_terminal(110, 36)
        await settle(pilot)
        assert sidebar.outer_size.width == 16
        assert "Oz Cloud API Keys" in plain(sidebar.query_one(".-page", Static))


async def test_j_k_g_and_shift_g_move_in_the_table() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        grid = table.query_one(KeyGrid)
        await pilot.press("j", "j")
        assert grid.cursor_row == 2
        await pilot.press("k")
        assert grid.cursor_row == 1
        await pilot.press("G")
        assert grid.cursor_row == 7
        await pilot.press("g")
        assert grid.cursor_row == 0


async def test_the_footer_lists_space_only_where_it_fits() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)

        def shown() -> list[str]:
            keys = app.screen.query("FooterKey")
            return [key.description for key in keys]  # type: ignore[attr-defined]

        assert "Mark" in shown() and "Quit" in shown()
        await pilot.resize_terminal(*NARROW)
        await settle(pilot)
        assert "Mark" not in shown() and "Quit" in shown()
        # Space still marks.
        await pilot.press("space")
        await pilot.pause()
        assert len(table_of(app).marked_keys) == 1



async def test_the_palette_offers_details_marks_and_clearing_the_search() -> None:
    app, _backend = demo_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        table = table_of(app)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        commands["Mark every key shown"].callback()
        await pilot.pause()
        assert len(table.marked_keys) == 8
        commands["Clear marks"].callback()
        commands["Mark or unmark key"].callback()
        await pilot.pause()
        assert table.marked_keys == (table.visible_keys[0],)
        await search(pilot, "grafana")
        commands["Clear search"].callback()
        await settle(pilot)
        assert table.filter_text == "" and len(table.visible_keys) == 8
        commands["Key details"].callback()
        await settle(pilot)
        assert isinstance(app.screen, KeyDetailsScreen)
        assert app.screen.key == table.highlighted_key


async def test_d_during_a_bulk_delete_never_sends_a_key_twice() -> None:
    import asyncio

    clock = FakeClock()
    service = LocalService.demo(clock=clock, token_factory=deterministic_tokens())
    transport = FailingExpires(service, set())
    backend = remote_backend(
        SERVER_ROOT, FAKE_API_KEY, clock=clock, transport=transport, max_retries=0,
        sleep=_no_sleep,
    )
    backend.service = service
    app = make_app(backend, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        table = table_of(app)
        await pilot.press("space", "j", "space")
        await pilot.press("d")
        await settle(pilot)
        transport.gate = asyncio.Event()
        await pilot.press("y")
        await pilot.pause()
        await pilot.press("d")  # again, while the first two are in flight
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        assert "The marked keys are being deleted." in notifications(app)
        transport.gate.set()
        await settle(pilot)
        assert len(transport.expired) == 2 and len(set(transport.expired)) == 2
        assert table.marked_keys == () and len(table.keys) == 6
