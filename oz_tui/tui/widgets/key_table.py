"""`KeyTable`: the list of API keys, behind one narrow API.

The rest of the app talks to the table only through this class: `set_keys`, `add_key`,
`remove_key`, `filter`, `sort_by` / `cycle_sort` / `reverse_sort`, `refresh_times`, the marks
(`toggle_mark`, `mark_visible`, `clear_marks`, `set_mark_failure`), the read-only properties
(`keys`, `visible_keys`, `highlighted_key`, `sort`, `filter_text`, `search_hint`, `loaded`,
`marked_keys`, `mark_failures`) and the messages `DeleteRequested`, `DetailsRequested` and
`ViewChanged`.

This file is the widget: it keeps the state in a `KeyList` (`oz_tui.core.key_list`: order,
search, marks), asks `LayoutEngine` (`key_layout`) which columns fit and how wide, and builds
each row's cells with `key_cells`. The rows are drawn by `KeyGrid` (a line-API `ScrollView`
styled like Textual's DataTable) which renders only the rows on screen, so 10,000 keys load,
filter and sort in milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Iterable, Sequence, overload

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from oz_tui.core.models import ApiKey
from oz_tui.core.key_list import Column, KeyList
from oz_tui.tui.widgets.key_cells import (
    DELETE_LABEL,
    UID_LABEL,
    CellStyles,
    cells_from_strings,
    expires_words,
    mark_cell,
)
from oz_tui.tui.widgets.key_grid import GridColumn, KeyGrid
from oz_tui.tui.widgets.key_layout import DEFAULT_LAYOUT, Layout, LayoutEngine, header_label

EMPTY_TITLE = "No API Keys"
DEFAULT_EMPTY_HINT = "Create one with + Create API Key."
NO_MATCH = "No API keys match your search"

_ACTION_COLUMN = "action"
_MARK_COLUMN = "mark"
_UID_COLUMN = "uid"


class KeyTable(Vertical, can_focus=False):
    """The API key table with its empty and no-match states."""

    DEFAULT_CSS = """
    KeyTable {
        height: 1fr;
    }
    KeyTable > #key-grid {
        height: 1fr;
    }
    KeyTable > #key-table-message {
        height: auto;
        padding: 1 2;
        display: none;
    }
    KeyTable.-message > #key-table-message {
        display: block;
    }
    KeyTable.-message > KeyGrid {
        display: none;
    }
    """

    class DeleteRequested(Message):
        """The user clicked a row's Delete cell."""

        def __init__(self, table: KeyTable, key: ApiKey) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyTable:
            return self.table

    class DetailsRequested(Message):
        """The user asked for a key's details (Enter on its row, or a click on its name)."""

        def __init__(self, table: KeyTable, key: ApiKey) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> KeyTable:
            return self.table

    class ViewChanged(Message):
        """What the table shows changed: keys, filter, sort or marks. Read the table's
        properties."""

        def __init__(self, table: KeyTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> KeyTable:
            return self.table

    SORT_ASCENDING: ClassVar[str] = "▲"
    SORT_DESCENDING: ClassVar[str] = "▼"

    def __init__(
        self,
        *,
        empty_hint: str = DEFAULT_EMPTY_HINT,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._empty_hint = empty_hint
        self._list = KeyList()
        self._engine = LayoutEngine(self._list.now)
        self._layout = DEFAULT_LAYOUT
        self._styles = CellStyles()
        self._grid = KeyGrid(id="key-grid")

    def compose(self) -> ComposeResult:
        yield self._grid
        yield Static("", id="key-table-message")

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)
        self._rebuild()

    def _theme_changed(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        if self._list.loaded and self._choose_layout(self._list.visible) != self._layout:
            self._rebuild()

    # -- the API ----------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[ApiKey, ...]:
        """Every loaded key, whatever the filter."""
        return tuple(self._list.keys.values())

    @property
    def visible_keys(self) -> tuple[ApiKey, ...]:
        """The keys shown, in display order."""
        return tuple(self._list.visible)

    @property
    def loaded(self) -> bool:
        """True once `set_keys` has been called (before that, the table says nothing)."""
        return self._list.loaded

    @property
    def filter_text(self) -> str:
        return self._list.filter_text

    @property
    def search_hint(self) -> str:
        """What the search couldn't read (an unknown qualifier, a bad duration), in one line;
        "" when all of it was understood."""
        return self._list.search_hint

    @property
    def marked_keys(self) -> tuple[ApiKey, ...]:
        """The marked keys, shown or not (a search doesn't unmark), in the order marked."""
        return self._list.marked_keys

    @property
    def mark_failures(self) -> dict[str, str]:
        """uid -> why deleting that marked key failed (it stays marked until unmarked)."""
        return self._list.mark_failures

    def is_marked(self, uid: str) -> bool:
        return self._list.is_marked(uid)

    @property
    def sort(self) -> tuple[Column, bool]:
        """The sort column and whether its natural order is reversed."""
        return self._list.sort

    @property
    def highlighted_key(self) -> ApiKey | None:
        """The key under the row cursor, or None when no row is shown."""
        visible = self._list.visible
        if not visible:
            return None
        row = self._grid.cursor_row
        if 0 <= row < len(visible):
            return visible[row]
        return None

    def set_keys(self, keys: Iterable[ApiKey], now: datetime) -> None:
        """Replace the whole list (a load or refresh). The highlighted key stays highlighted;
        marks stay on the keys still listed."""
        self._list.set_keys(keys, now)
        self._engine.reset(now)
        self._rebuild()

    def add_key(self, key: ApiKey, now: datetime, *, highlight: bool = True) -> None:
        """Add (or replace) one key, e.g. a freshly created one, and move the cursor to it."""
        self._list.add(key)
        self._engine.forget(key.uid)
        self._set_now(now)
        self._rebuild(highlight_uid=key.uid if highlight else None)

    def remove_key(self, uid: str) -> None:
        """Drop one key (deleted). The cursor stays on the same row position."""
        if not self._list.remove(uid):
            return
        self._engine.forget(uid)
        self._rebuild()

    def refresh_times(self, now: datetime) -> None:
        """Recompute the relative times ("3 days ago") against `now`, in place: the cursor
        and scroll position stay where they are."""
        self._set_now(now)
        if not self.is_mounted or not self._list.loaded:
            return
        if self._list.time_dependent:
            # "expires:<7d" and the like depend on the time: filter again.
            self._rebuild()
            return
        if self._choose_layout(self._list.visible) != self._layout:
            self._rebuild()
            return
        self._show_rows()

    def filter(self, text: str) -> None:  # noqa: A003 - the table's verb
        """Show only keys matching `text`: free text (case-insensitive, in the name, the agent's
        name, the last four, the start of the uid) and qualifiers (`oz_tui.core.hygiene`). "" shows
        all; what can't be read is in `search_hint`."""
        if not self._list.set_filter(text):
            return
        self._engine.view_changed()
        self._rebuild()

    # -- marks ------------------------------------------------------------------------------

    def toggle_mark(self, uid: str | None = None) -> None:
        """Mark or unmark a key (the highlighted one unless `uid` is given)."""
        if uid is None:
            key = self.highlighted_key
            if key is None:
                return
            uid = key.uid
        if self._list.toggle_mark(uid):
            self._marks_changed()

    def mark_visible(self) -> None:
        """Mark every key shown (keys hidden by a search keep their marks)."""
        self._list.mark_visible()
        self._marks_changed()

    def clear_marks(self) -> None:
        self._list.clear_marks()
        self._marks_changed()

    def set_mark_failure(self, uid: str, reason: str) -> None:
        """Keep `uid` marked, drawn as failed, with `reason` (e.g. why its delete failed)."""
        if self._list.set_mark_failure(uid, reason):
            self._marks_changed()

    def _marks_changed(self) -> None:
        if self.is_mounted:
            self._grid.redraw()
        self.post_message(self.ViewChanged(self))

    def sort_by(self, column: Column | str, reverse: bool = False) -> None:
        """Sort by `column` in its natural order (times newest first), or the opposite."""
        self._list.sort_by(column, reverse)
        self._rebuild()

    def cycle_sort(self) -> None:
        """Sort by the next column, in its natural order."""
        self.sort_by(self._list.next_column())

    def reverse_sort(self) -> None:
        column, reverse = self._list.sort
        self.sort_by(column, not reverse)

    def focus(self, scroll_visible: bool = True) -> KeyTable:
        """Focus the rows (when there are rows to focus)."""
        if self._grid.display and self._list.visible:
            self._grid.focus(scroll_visible)
        return self

    @property
    def compact(self) -> bool:
        """True when the table is too narrow for the full layout: short relative times, no
        Delete column (d / Delete still delete)."""
        return self._layout.compact

    @property
    def wide(self) -> bool:
        """True when the table has room for the uid column and expiry times to the minute."""
        return self._layout.wide

    def displayed_cells(self, uid: str) -> tuple[str, ...] | None:
        """The plain text of a shown row's cells as on screen, after the marks column (see
        `is_marked`): Name, Key, Scope, Created, Last used, Expires at, then Uid (wide) and
        Delete (unless dropped). None when the row isn't shown."""
        if not self.is_mounted:
            return None
        row = self._list.row_of(uid)
        if row is None:
            return None
        return tuple(cell.plain for cell in self._row_cells(row)[1:])

    @property
    def message(self) -> str:
        """The empty / no-match text shown instead of rows ("" when rows are shown)."""
        if not self.has_class("-message"):
            return ""
        return str(self.query_one("#key-table-message", Static).content)

    def _set_now(self, now: datetime) -> None:
        if self._list.set_now(now):
            self._engine.reset(now)

    # -- rendering --------------------------------------------------------------------------

    def _cell_styles(self) -> CellStyles:
        try:
            variables = self.app.theme_variables
        except Exception:  # noqa: BLE001 - not mounted yet: plain styles
            return CellStyles()
        warning = variables.get("text-warning") or variables.get("warning", "")
        error = variables.get("text-error") or variables.get("error", "")
        accent = variables.get("text-accent") or variables.get("accent", "")
        return CellStyles(
            soon=f"bold {warning}".strip(),
            expired=f"bold {error}".strip(),
            delete=f"underline {error}".strip(),
            mark=f"bold {accent}".strip(),
            mark_failed=f"bold {error}".strip(),
        )

    def _header(self, column: Column, mode: str) -> Text:
        label = header_label(column, mode)
        if column is not self._list.sort[0]:
            return Text(label)
        arrow = self.SORT_DESCENDING if self._list.descending(column) else self.SORT_ASCENDING
        return Text.assemble(label, " ", (arrow, "bold"))

    def _choose_layout(self, keys: list[ApiKey]) -> Layout:
        """The layout that fits the table's size (`LayoutEngine.choose`)."""
        size = self.size
        return self._engine.choose(
            keys,
            size.width,
            size.height,
            scrollbar=self._grid.styles.scrollbar_size_vertical,
            pad=2 * self._grid.cell_padding,
        )

    def _rebuild(self, *, highlight_uid: str | None = None) -> None:
        """Recompute what is shown (order, filter, layout) and show it."""
        if not self.is_mounted:
            return
        grid = self._grid
        previous = self.highlighted_key
        previous_row = grid.cursor_row
        keep_uid = highlight_uid or (previous.uid if previous else None)

        visible = self._list.update_view()
        self._layout = self._choose_layout(visible)
        self._styles = self._cell_styles()
        self._show_rows()

        if visible:
            row = self._list.row_of(keep_uid) if keep_uid is not None else None
            if row is None:
                row = min(max(previous_row, 0), len(visible) - 1)
            grid.move_cursor(row)
            # Again once laid out, in case the grid is only now being shown (no size yet).
            self.call_after_refresh(grid.scroll_cursor_into_view)
        self._show_message()
        self.post_message(self.ViewChanged(self))

    def _show_rows(self) -> None:
        """Hand the visible keys and the column widths to the grid (cursor and scroll stay)."""
        layout = self._layout
        keys = self._list.visible
        headers = [self._header(column, layout.mode) for column in Column]
        widths, uid_width = self._engine.widths(keys, layout)
        columns = [GridColumn(_MARK_COLUMN, Text(""), 1, padding=0)]
        columns += [
            GridColumn(column.value, header, width)
            for column, header, width in zip(Column, headers, widths)
        ]
        if layout.wide:
            columns.append(GridColumn(_UID_COLUMN, Text(UID_LABEL), uid_width))
        if layout.action:
            columns.append(GridColumn(_ACTION_COLUMN, Text(""), cell_len(DELETE_LABEL)))
        self._grid.set_rows(columns, _Uids(keys), self._row_cells)

    def _row_cells(self, row: int) -> tuple[Text, ...]:
        """The cells of a visible row (the mark first), built when the grid draws it."""
        model = self._list
        key = model.visible[row]
        layout = self._layout
        strings = self._engine.cell_texts(key, layout.mode)
        state = expires_words(key, model.now, compact=layout.compact)[1]
        uid = key.uid
        mark = mark_cell(model.is_marked(uid), model.mark_failure(uid), self._styles)
        return (mark,) + cells_from_strings(
            key,
            strings,
            state,
            self._styles,
            name_max=layout.name_max,
            action=layout.action,
            uid=layout.wide,
        )

    def _show_message(self) -> None:
        message = self.query_one("#key-table-message", Static)
        if not self._list.loaded:
            text: Text | None = None  # loading: an empty grid under the loading indicator
        elif not self._list.keys:
            text = Text.assemble((EMPTY_TITLE, "bold"), "\n", self._empty_hint)
        elif not self._list.visible:
            text = Text(NO_MATCH)
        else:
            text = None
        self.set_class(text is not None, "-message")
        message.update(text or "")

    # -- the grid's messages ----------------------------------------------------------------

    @on(KeyGrid.CellClicked)
    def _cell_clicked(self, event: KeyGrid.CellClicked) -> None:
        event.stop()
        visible = self._list.visible
        if not 0 <= event.row < len(visible):
            return
        key = visible[event.row]
        if event.column_key == _ACTION_COLUMN:
            self.post_message(self.DeleteRequested(self, key))
        elif event.column_key == _MARK_COLUMN:
            self.toggle_mark(key.uid)
        elif event.column_key == Column.NAME.value:
            self.post_message(self.DetailsRequested(self, key))

    @on(KeyGrid.RowSelected)
    def _row_selected(self, event: KeyGrid.RowSelected) -> None:
        event.stop()
        visible = self._list.visible
        if 0 <= event.row < len(visible):
            self.post_message(self.DetailsRequested(self, visible[event.row]))

    @on(KeyGrid.HeaderClicked)
    def _header_clicked(self, event: KeyGrid.HeaderClicked) -> None:
        event.stop()
        try:
            column = Column(event.column_key)
        except ValueError:
            return  # the marks, uid and action columns do not sort
        if column is self._list.sort[0]:
            self.reverse_sort()
        else:
            self.sort_by(column)



class _Uids(Sequence[str]):
    """The uids of a list of keys, without copying them out."""

    __slots__ = ("_keys",)

    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [key.uid for key in self._keys[index]]
        return self._keys[index].uid
