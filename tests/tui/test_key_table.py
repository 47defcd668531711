"""KeyTable with 10,000 keys: it shows, filters and sorts them all correctly, draws only the rows
on screen, and answers the keyboard and the mouse; and KeyGrid draws exactly what Textual's stock
DataTable draws for the same cells. Behaviour only: nothing here is timed (see
tests/benchmarks/bench.py for the timings)."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widgets import DataTable

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.sanitize import safe_text
from oz_tui.tui.widgets import Column, KeyTable
from oz_tui.tui.widgets.key_cells import NAME_MAX, cell_strings, key_cells
from oz_tui.tui.widgets.key_grid import GridColumn, KeyGrid
from oz_tui.tui.widgets.key_table import NO_MATCH

from determinism import FIXED_NOW

NOW = FIXED_NOW
MANY = 10_000
WIDE = (160, 40)
PREFIXES = ("ci-runner", "deploy-bot", "nightly agent", "Staging Deploy", "laptop", "grafana")


def make_keys(count: int, seed: int = 6) -> list[ApiKey]:
    rng = random.Random(seed)
    keys = []
    for number in range(count):
        created = NOW - timedelta(minutes=rng.randint(60, 400 * 24 * 60))
        used = None if rng.random() < 0.2 else created + timedelta(minutes=rng.randint(0, 600))
        expires = None if rng.random() < 0.3 else NOW + timedelta(hours=rng.randint(2, 9000))
        keys.append(
            ApiKey(
                uid=f"uid-{number:05d}",
                name=f"{PREFIXES[number % len(PREFIXES)]} {number}",
                key_suffix=f"{rng.randrange(16**4):04x}",
                scope=KeyScope.TEAM if rng.random() < 0.3 else KeyScope.PERSONAL,
                created_at=created,
                last_used_at=used,
                expires_at=expires,
            )
        )
    return keys


_FAR_PAST = datetime.min.replace(tzinfo=NOW.tzinfo)
_FAR_FUTURE = datetime.max.replace(tzinfo=NOW.tzinfo)
_SORT_KEYS: dict[Column, Any] = {
    Column.NAME: lambda k: k.name.casefold(),
    Column.KEY: lambda k: k.key_suffix,
    Column.SCOPE: lambda k: k.scope.value,
    Column.CREATED: lambda k: k.created_at,
    Column.LAST_USED: lambda k: k.last_used_at or _FAR_PAST,
    Column.EXPIRES: lambda k: k.expires_at or _FAR_FUTURE,
}
_NEWEST_FIRST = {Column.CREATED, Column.LAST_USED}


def expected_order(keys: list[ApiKey], column: Column, reverse: bool = False) -> list[str]:
    """The order the table promises, worked out independently: the column's natural order
    (times newest first), ties newest first, then by uid."""
    descending = (column in _NEWEST_FIRST) != reverse
    decorated = sorted(keys, key=lambda k: k.uid)
    decorated.sort(key=lambda k: k.created_at, reverse=True)
    decorated.sort(key=_SORT_KEYS[column], reverse=descending)
    return [key.uid for key in decorated]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.delete_requests: list[ApiKey] = []
        self.view_changes = 0

    def compose(self) -> ComposeResult:
        yield KeyTable(id="keys")

    def on_key_table_delete_requested(self, event: KeyTable.DeleteRequested) -> None:
        self.delete_requests.append(event.key)

    def on_key_table_view_changed(self) -> None:
        self.view_changes += 1


def uids(table: KeyTable) -> list[str]:
    return [key.uid for key in table.visible_keys]


@pytest.fixture(scope="module")
def many() -> list[ApiKey]:
    return make_keys(MANY)


# -- 10,000 keys: what is shown ------------------------------------------------------------------


async def test_ten_thousand_keys_are_all_listed_newest_first(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        await pilot.pause()
        assert table.loaded and len(table.keys) == MANY
        assert uids(table) == expected_order(many, Column.CREATED)
        assert table.highlighted_key == table.visible_keys[0]
        grid = table.query_one(KeyGrid)
        assert grid.virtual_size.height == MANY + 1  # the header, then a line per key
        # A row far below the screen still reads as it would on screen.
        last = table.visible_keys[-1]
        cells = table.displayed_cells(last.uid)
        assert cells is not None and cells[0] == last.name and cells[-1] == "Delete"
        assert cells[:6] == cell_strings(last, NOW, compact=table.compact, exact=table.wide)


async def test_only_the_rows_on_screen_are_drawn(
    many: list[ApiKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[int] = []
    original = KeyTable._row_cells

    def spy(self: KeyTable, row: int) -> tuple[Text, ...]:
        drawn.append(row)
        return original(self, row)

    monkeypatch.setattr(KeyTable, "_row_cells", spy)
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        await pilot.pause()
        grid = table.query_one(KeyGrid)
        rows_on_screen = grid.scrollable_content_region.height - 1
        assert drawn and set(drawn) <= set(range(rows_on_screen))
        drawn.clear()
        table.filter("deploy")
        await pilot.pause()
        assert drawn and max(drawn) < rows_on_screen
        drawn.clear()
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        shown = len(table.visible_keys)
        assert drawn and min(drawn) >= shown - rows_on_screen  # only the last page
        assert len(set(drawn)) <= rows_on_screen


async def test_filter_ten_thousand_by_name_case_insensitively(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        await pilot.pause()
        newest_first = expected_order(many, Column.CREATED)
        for text in ("d", "DEPLOY", "  deploy  ", "Deploy 12", "nightly agent 9998"):
            table.filter(text)
            await pilot.pause()
            # Each word, wherever it is in the name (no word here starts a uid or is a suffix).
            words = text.casefold().split()
            matching = {
                key.uid for key in many if all(word in key.name.casefold() for word in words)
            }
            assert uids(table) == [uid for uid in newest_first if uid in matching]
            assert table.filter_text == text.strip()
            assert table.message == ""
        assert len(table.visible_keys) == 1
        # A quoted phrase is matched as a whole.
        table.filter('"deploy 12"')
        await pilot.pause()
        assert {key.name.casefold() for key in table.visible_keys} == {
            key.name.casefold() for key in many if "deploy 12" in key.name.casefold()
        }
        table.filter("no such key")
        await pilot.pause()
        assert table.visible_keys == () and table.message == NO_MATCH
        assert table.highlighted_key is None
        table.filter("")
        await pilot.pause()
        assert len(table.visible_keys) == MANY and table.message == ""


@pytest.mark.parametrize("column", list(Column))
async def test_sort_ten_thousand_by_every_column_both_ways(
    many: list[ApiKey], column: Column
) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        table.sort_by(column)
        await pilot.pause()
        assert table.sort == (column, False)
        assert uids(table) == expected_order(many, column)
        table.reverse_sort()
        await pilot.pause()
        assert table.sort == (column, True)
        assert uids(table) == expected_order(many, column, reverse=True)
        # Sorted and filtered together.
        table.filter("grafana")
        await pilot.pause()
        grafana = {key.uid for key in many if "grafana" in key.name}
        assert uids(table) == [
            uid for uid in expected_order(many, column, reverse=True) if uid in grafana
        ]


async def test_the_sorted_header_shows_its_arrow() -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(make_keys(20), NOW)
        await pilot.pause()
        grid = table.query_one(KeyGrid)
        labels = [column.label.plain for column in grid.ordered_columns]
        # The marks column (no header) first; 160 columns are wide: expiry times are in UTC.
        assert labels[:7] == [
            "", "Name", "Key", "Scope", "Created ▼", "Last used", "Expires at (UTC)"
        ]
        table.sort_by(Column.NAME)
        await pilot.pause()
        assert [c.label.plain for c in grid.ordered_columns][1] == "Name ▲"
        table.reverse_sort()
        await pilot.pause()
        assert [c.label.plain for c in grid.ordered_columns][1] == "Name ▼"


async def test_the_highlighted_key_survives_filter_sort_and_reload(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        table.focus()
        await pilot.pause()
        await pilot.press("pagedown", "pagedown", "down")
        await pilot.pause()
        chosen = table.highlighted_key
        assert chosen is not None and chosen != table.visible_keys[0]
        table.sort_by(Column.NAME)
        await pilot.pause()
        assert table.highlighted_key == chosen
        table.filter(chosen.name.split()[0])
        await pilot.pause()
        assert table.highlighted_key == chosen
        table.set_keys(list(reversed(many)), NOW)
        await pilot.pause()
        assert table.highlighted_key == chosen
        # On screen, too.
        grid = table.query_one(KeyGrid)
        row = uids(table).index(chosen.uid)
        top = int(grid.scroll_y)
        assert top <= row < top + grid.scrollable_content_region.height - 1


async def test_add_and_remove_one_key_among_ten_thousand(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        table.sort_by(Column.NAME)
        await pilot.pause()
        new = ApiKey("uid-new", "zz brand new", "beef", KeyScope.PERSONAL, NOW)
        table.add_key(new, NOW)
        await pilot.pause()
        assert table.highlighted_key == new
        assert uids(table)[-1] == "uid-new"  # last by name, and scrolled to
        grid = table.query_one(KeyGrid)
        assert grid.scroll_y == grid.max_scroll_y > 0
        table.remove_key("uid-new")
        await pilot.pause()
        assert len(table.keys) == MANY and "uid-new" not in uids(table)
        assert table.highlighted_key == table.visible_keys[-1]  # same position, clamped


async def test_refresh_times_keeps_cursor_and_scroll(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        table.focus()
        await pilot.pause()
        await pilot.press("pagedown", "pagedown", "pagedown")
        await pilot.pause()
        grid = table.query_one(KeyGrid)
        chosen, scroll = table.highlighted_key, grid.scroll_y
        assert chosen is not None
        changes = app.view_changes
        later = NOW + timedelta(days=3)
        table.refresh_times(later)
        await pilot.pause()
        assert table.highlighted_key == chosen and grid.scroll_y == scroll
        assert app.view_changes == changes  # not a new view: keys, filter and sort are as they were
        cells = table.displayed_cells(chosen.uid)
        assert cells is not None and cells[3] == cell_strings(chosen, later)[3]


# -- keyboard and mouse --------------------------------------------------------------------------


async def test_keyboard_moves_the_cursor_and_keeps_it_on_screen(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        table.focus()
        await pilot.pause()
        grid = table.query_one(KeyGrid)
        page = grid.scrollable_content_region.height - 1
        order = uids(table)

        def row() -> int:
            key = table.highlighted_key
            assert key is not None
            return order.index(key.uid)

        def on_screen() -> bool:
            top = int(grid.scroll_y)
            return top <= row() < top + page

        await pilot.press("down", "down", "down", "up")
        assert row() == 2
        await pilot.press("pagedown")
        assert row() == 2 + page and on_screen()
        await pilot.press("pageup")
        assert row() == 2 and on_screen()
        await pilot.press("end")
        assert row() == MANY - 1 and on_screen()
        await pilot.press("down")
        assert row() == MANY - 1
        await pilot.press("home")
        assert row() == 0 and grid.scroll_y == 0
        await pilot.press("up")
        assert row() == 0


async def test_mouse_sorts_highlights_and_asks_to_delete() -> None:
    keys = make_keys(50)
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(keys, NOW)
        await pilot.pause()
        grid = table.query_one(KeyGrid)
        # The header: Name sorts; again reverses; the Delete column's header does nothing.
        await pilot.click(grid, offset=(2, 0))
        await pilot.pause()
        assert table.sort == (Column.NAME, False)
        await pilot.click(grid, offset=(2, 0))
        await pilot.pause()
        assert table.sort == (Column.NAME, True)
        columns = grid.ordered_columns
        delete_x = sum(column.get_render_width(grid) for column in columns[:-1]) + 2
        await pilot.click(grid, offset=(delete_x, 0))
        await pilot.pause()
        assert table.sort == (Column.NAME, True)
        # A row: highlighted. (The sort kept the highlighted key in view: back to the top.)
        grid.action_first_row()
        await pilot.pause()
        assert grid.scroll_y == 0
        await pilot.click(grid, offset=(3, 5))
        await pilot.pause()
        assert table.highlighted_key == table.visible_keys[4]
        assert app.delete_requests == []
        # A Delete cell: that row's key, highlighted and asked about.
        await pilot.click(grid, offset=(delete_x, 8))
        await pilot.pause()
        assert app.delete_requests == [table.visible_keys[7]]
        assert table.highlighted_key == table.visible_keys[7]
        # Past the last column (the rest of the line): highlights, never deletes.
        await pilot.click(grid, offset=(WIDE[0] - 6, 10))
        await pilot.pause()
        assert table.highlighted_key == table.visible_keys[9]
        assert len(app.delete_requests) == 1


async def test_narrow_terminal_goes_compact_with_many_keys(many: list[ApiKey]) -> None:
    app = TableApp()
    async with app.run_test(size=(78, 24)) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(many, NOW)
        await pilot.pause()
        assert table.compact
        grid = table.query_one(KeyGrid)
        assert grid.virtual_size.width <= grid.scrollable_content_region.width
        first = table.visible_keys[0]
        cells = table.displayed_cells(first.uid)
        assert cells is not None
        assert cells[3] == cell_strings(first, NOW, compact=True)[3]  # "3d ago"
        # Names are cut to the room left, with an ellipsis, never below what was promised.
        name_width = grid.ordered_columns[1].content_width
        assert name_width <= NAME_MAX
        assert all(cell_len(table.displayed_cells(k.uid)[0]) <= name_width  # type: ignore[index]
                   for k in table.visible_keys[:50])


async def test_empty_and_loading_states() -> None:
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        await pilot.pause()
        assert not table.loaded and table.message == "" and table.highlighted_key is None
        table.set_keys([], NOW)
        await pilot.pause()
        assert table.message.startswith("No API Keys")
        assert not table.query_one(KeyGrid).display


async def test_hostile_names_are_drawn_literally() -> None:
    names = ["[bold]x[/]", "[@click=app.quit]q[/]", "\x1b[31mred", "a\u202eb"]
    keys = [
        ApiKey(f"h{i}", name, "0000", KeyScope.PERSONAL, NOW - timedelta(hours=i))
        for i, name in enumerate(names)
    ]
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(keys, NOW)
        await pilot.pause()
        screen = app.export_screenshot()
        for key in keys:
            cells = table.displayed_cells(key.uid)
            assert cells is not None and cells[0] == safe_text(key.name)
        assert "[bold]x[/]" in screen and "␛[31mred" in screen


AGENT_NAMES = ("Default agent", "Release Captain", "triage-bot")


def with_agent_keys(keys: list[ApiKey]) -> list[ApiKey]:
    """Every third key made an Agent key, of one of a few agents."""
    return [
        dataclasses.replace(
            key,
            scope=KeyScope.AGENT,
            agent_name=AGENT_NAMES[number // 3 % len(AGENT_NAMES)],
            agent_uid=f"agent-{number // 3 % len(AGENT_NAMES)}",
        )
        if number % 3 == 0
        else key
        for number, key in enumerate(keys)
    ]


async def test_agent_keys_show_their_agent_and_are_found_and_sorted_by_it(
    many: list[ApiKey],
) -> None:
    keys = with_agent_keys(many)
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(keys, NOW)
        await pilot.pause()
        first = keys[0]
        cells = table.displayed_cells(first.uid)
        assert cells is not None and cells[2] == f"Agent · {first.agent_name}"
        assert table.displayed_cells(keys[1].uid)[2] in ("Personal", "Team")  # type: ignore[index]
        # The search matches agent names as well as key names, case-insensitively.
        newest_first = expected_order(keys, Column.CREATED)
        for text in ("release captain", "CAPTAIN", "bot", "Triage"):
            table.filter(text)
            await pilot.pause()
            needle = text.casefold()
            matching = {
                key.uid
                for key in keys
                if needle in key.name.casefold() or needle in (key.agent_name or "").casefold()
            }
            assert matching and uids(table) == [uid for uid in newest_first if uid in matching]
        table.filter("captain")
        await pilot.pause()
        assert {key.agent_name for key in table.visible_keys} == {"Release Captain"}
        # Sorting by Scope groups each agent's keys together.
        table.filter("")
        table.sort_by(Column.SCOPE)
        await pilot.pause()
        order = [(key.scope.value, key.agent_name or "") for key in table.visible_keys]
        assert order == sorted(order, key=lambda pair: (pair[0], pair[1].casefold()))
        top = table.displayed_cells(table.visible_keys[0].uid)
        assert top is not None and top[2] == "Agent · Default agent"


async def test_agent_names_are_drawn_literally_and_cut() -> None:
    names = ["[bold]bot[/]", "\x1b[31mred", "a\u202eb", "x" * 60]
    keys = [
        ApiKey(f"a{i}", f"key {i}", "0000", KeyScope.AGENT, NOW - timedelta(hours=i),
               agent_name=name, agent_uid=f"agent-{i}")
        for i, name in enumerate(names)
    ]
    app = TableApp()
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(KeyTable)
        table.set_keys(keys, NOW)
        await pilot.pause()
        screen = app.export_screenshot()
        shown = [table.displayed_cells(key.uid)[2] for key in keys]  # type: ignore[index]
        assert shown[0] == "Agent · [bold]bot[/]" and "[bold]bot[/]" in screen
        assert shown[1] == "Agent · ␛[31mred" and "\x1b" not in shown[1]
        assert shown[2] == f"Agent · {safe_text(names[2])}" and "\u202e" not in shown[2]
        assert shown[3] == "Agent · " + "x" * 23 + "…"


def test_the_fast_sanitiser_agrees_with_safe_text() -> None:
    from oz_tui.tui.widgets.key_cells import clean

    samples = [
        "", " ", "CI pipeline", "deploy-bot 12", "~!@#$%^&*()_+`-={}|[]\\:\";'<>?,./",
        "tab\there", "new\nline", "esc\x1b[31m", "del\x7f", "c1\x85", "caf\u00e9",
        "a\u202eb", "zero\u200bwidth", "e\u0301\u0301\u0301\u0301\u0301", "\u3164",
        "日本語のキー", "emoji 🔑",
    ]
    samples += [chr(code) * 3 for code in range(0x00, 0x100)]
    for text in samples:
        assert clean(text) == safe_text(text), repr(text)


# -- KeyGrid draws what DataTable draws ----------------------------------------------------------


class SideBySide(App[None]):
    """A stock DataTable and a KeyGrid, the same size, given the same cells."""

    AUTO_FOCUS = None  # both blurred to begin with
    CSS = """
    Horizontal { height: 12; }
    DataTable, KeyGrid { width: 100; height: 12; }
    """

    def __init__(self, keys: list[ApiKey]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield DataTable(cursor_type="row", zebra_stripes=True, show_row_labels=False)
        with Horizontal():
            yield KeyGrid()

    def on_mount(self) -> None:
        headers = [Text(column.label) for column in Column] + [Text("")]
        rows = [key_cells(key, NOW) for key in self.keys]
        table = self.query_one(DataTable)
        for index, header in enumerate(headers):
            table.add_column(header, key=str(index))
        for key, cells in zip(self.keys, rows):
            table.add_row(*cells, key=key.uid)
        widths = [
            max([cell_len(header.plain)] + [cell_len(cells[index].plain) for cells in rows])
            for index, header in enumerate(headers)
        ]
        self.query_one(KeyGrid).set_rows(
            [GridColumn(str(i), header, width) for i, (header, width) in
             enumerate(zip(headers, widths))],
            [key.uid for key in self.keys],
            lambda row: rows[row],
        )


def _lines(widget: Any) -> list[list[tuple[str, Any]]]:
    width, height = widget.size
    strips = widget.render_lines(Region(0, 0, width, height))
    return [[(segment.text, segment.style) for segment in strip.simplify()] for strip in strips]


async def test_key_grid_draws_exactly_what_a_data_table_draws() -> None:
    keys = make_keys(30)
    app = SideBySide(keys)
    async with app.run_test(size=(110, 30)) as pilot:
        await pilot.pause()
        table, grid = app.query_one(DataTable), app.query_one(KeyGrid)
        assert table.size == grid.size
        assert _lines(grid) == _lines(table)  # header, zebra rows, blurred cursor
        table.move_cursor(row=4)
        grid.move_cursor(4)
        table.scroll_to(y=6, animate=False)
        grid.scroll_to(y=6, animate=False)
        await pilot.pause()
        assert grid.scroll_y == table.scroll_y == 6
        assert _lines(grid) == _lines(table)
        table.focus()
        await pilot.pause()
        focused_table = _lines(table)
        grid.focus()
        await pilot.pause()
        assert _lines(grid) == focused_table  # the focused cursor and tint
