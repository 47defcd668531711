"""`KeyTable`: the list of API keys, behind one narrow API.

The rest of the app talks to the table only through this class: `set_keys`, `add_key`,
`remove_key`, `filter`, `sort_by` / `cycle_sort` / `reverse_sort`, `refresh_times`, the read-only
properties (`keys`, `visible_keys`, `highlighted_key`, `sort`, `filter_text`, `loaded`) and the
messages `DeleteRequested` and `ViewChanged`. The DataTable inside is an implementation detail
(a later issue may swap it for a line-API ScrollView to hold 10,000 keys).

Every cell is a Rich `Text` built with `literal()`: a DataTable parses *string* cells as markup,
so untrusted names never reach it as strings.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterable

from rich.cells import cell_len
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from oz_tui.api.models import ApiKey
from oz_tui.display import date_label, expiring_soon, relative_time
from oz_tui.sanitize import safe_text
from oz_tui.tui.literal import literal

#: Names longer than this are cut (with an ellipsis) so one long name can't push the other
#: columns off screen. The full name is in the delete confirmation.
NAME_MAX = 32
#: Names are never cut shorter than this; below it the table goes compact, then scrolls.
NAME_MIN = 12
SOON_WORD = "soon"
EXPIRED_WORD = "expired"
DELETE_LABEL = "Delete"
EMPTY_TITLE = "No API Keys"
DEFAULT_EMPTY_HINT = "Create one with + Create API Key."
NO_MATCH = "No API keys match your search"

_FAR_PAST = datetime.min.replace(tzinfo=timezone.utc)
_FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


class Column(str, enum.Enum):
    """The sortable columns, in the order `s` cycles through them."""

    NAME = "name"
    KEY = "key"
    SCOPE = "scope"
    CREATED = "created"
    LAST_USED = "last_used"
    EXPIRES = "expires"

    @property
    def label(self) -> str:
        return _COLUMN_SPECS[self].label


@dataclass(frozen=True)
class _ColumnSpec:
    label: str
    #: Ascending sort key.
    sort_key: Callable[[ApiKey], Any]
    #: The order a person expects first: newest / most recent first for times, A→Z for text,
    #: soonest first for expiry. `reverse` flips it.
    descending_first: bool


_COLUMN_SPECS: dict[Column, _ColumnSpec] = {
    Column.NAME: _ColumnSpec("Name", lambda k: k.name.casefold(), False),
    Column.KEY: _ColumnSpec("Key", lambda k: k.key_suffix, False),
    Column.SCOPE: _ColumnSpec("Scope", lambda k: k.scope.value, False),
    Column.CREATED: _ColumnSpec("Created", lambda k: k.created_at, True),
    # "Never" used sorts as the oldest; "Never" expiring as the latest.
    Column.LAST_USED: _ColumnSpec("Last used", lambda k: k.last_used_at or _FAR_PAST, True),
    Column.EXPIRES: _ColumnSpec("Expires at", lambda k: k.expires_at or _FAR_FUTURE, False),
}
_ACTION_COLUMN = "action"


@dataclass(frozen=True)
class CellStyles:
    """Styles for the cells that stand out; the words carry the meaning, the styles help."""

    soon: str = "bold"
    expired: str = "bold"
    delete: str = "underline"
    never: str = "dim"


_UNITS = {"minute": "m", "hour": "h", "day": "d", "month": "mo", "year": "y"}
_SPAN = re.compile(r"(\d+) (minute|hour|day|month|year)s?")


def short_relative_time(when: datetime | None, now: datetime) -> str:
    """`relative_time` abbreviated for narrow terminals: "3d ago", "40m ago", "in 2mo"."""
    return _SPAN.sub(lambda m: f"{m.group(1)}{_UNITS[m.group(2)]}", relative_time(when, now))


def _expires_words(key: ApiKey, now: datetime, *, compact: bool) -> tuple[str, str | None]:
    """The Expires at text, and the state word it carries ("soon", "expired") if any."""
    if key.expires_at is None:
        return date_label(None), None
    label = date_label(key.expires_at)
    if expiring_soon(key.expires_at, now):
        # Within a week the year is plain, so a narrow table drops it.
        if compact:
            label = f"{key.expires_at:%b} {key.expires_at.day}"
        return f"{label} · {SOON_WORD}", SOON_WORD
    if key.expires_at < now:
        return f"{label} · {EXPIRED_WORD}", EXPIRED_WORD
    return label, None


@functools.lru_cache(maxsize=32768)
def _clean(text: str) -> str:
    """`safe_text`, remembered: a rebuild sanitises every name, and names rarely change."""
    return safe_text(text)


def cell_strings(key: ApiKey, now: datetime, *, compact: bool = False) -> tuple[str, ...]:
    """The plain text of one row's data cells (Name, Key, Scope, Created, Last used, Expires).

    The name is sanitised (no controls, no bidi tricks) but not cut.
    """
    when = short_relative_time if compact else relative_time
    return (
        _clean(key.name),
        _clean(key.masked),
        key.scope.value,
        when(key.created_at, now),
        when(key.last_used_at, now),
        _expires_words(key, now, compact=compact)[0],
    )


def key_cells(
    key: ApiKey,
    now: datetime,
    styles: CellStyles = CellStyles(),
    *,
    compact: bool = False,
    name_max: int = NAME_MAX,
    action: bool = True,
) -> tuple[Text, ...]:
    """One row of the table as Rich Text: the data cells, then (unless `action` is False) the
    Delete cell. Untrusted text goes through `literal()`: never markup, never escapes."""
    name, masked, scope, created, last_used, expires = cell_strings(key, now, compact=compact)
    _, state = _expires_words(key, now, compact=compact)
    if state == SOON_WORD:
        expires_text = Text(expires, style=styles.soon)
    elif state == EXPIRED_WORD:
        expires_text = Text(expires, style=styles.expired)
    else:
        expires_text = Text(expires, style=styles.never if key.expires_at is None else "")
    cells = (
        literal(key.name, max_length=name_max),
        Text(masked),
        Text(scope),
        Text(created),
        Text(last_used, style=styles.never if key.last_used_at is None else ""),
        expires_text,
    )
    if action:
        cells += (Text(DELETE_LABEL, style=styles.delete),)
    return cells


@dataclass(frozen=True)
class _Layout:
    compact: bool
    name_max: int
    action: bool


class _KeyGrid(DataTable[Text]):
    """The DataTable inside KeyTable. Private: only KeyTable touches it."""

    class DeleteClicked(Message):
        def __init__(self, row_key: str) -> None:
            super().__init__()
            self.row_key = row_key

    def on_click(self, event: events.Click) -> None:
        # Runs before DataTable's own click handler (which moves the cursor). A click on the
        # action cell of a row asks to delete that row's key.
        meta = event.style.meta
        row, column = meta.get("row"), meta.get("column")
        if not isinstance(row, int) or not isinstance(column, int) or row < 0:
            return
        if meta.get("out_of_bounds", False):
            return
        ordered = self.ordered_columns
        if 0 <= column < len(ordered) and ordered[column].key.value == _ACTION_COLUMN:
            row_key = self.ordered_rows[row].key.value
            if row_key is not None:
                self.post_message(self.DeleteClicked(row_key))


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
    KeyTable.-message > _KeyGrid {
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

    class ViewChanged(Message):
        """What the table shows changed: keys, filter or sort. Read the table's properties."""

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
        self._keys: dict[str, ApiKey] = {}
        self._visible: list[ApiKey] = []
        self._now = datetime.now(timezone.utc)
        self._filter = ""
        self._sort_column = Column.CREATED
        self._sort_reverse = False
        self._loaded = False
        self._layout = _Layout(compact=False, name_max=NAME_MAX, action=True)
        self._grid = _KeyGrid(
            cursor_type="row", zebra_stripes=True, show_row_labels=False, id="key-grid"
        )

    def compose(self) -> ComposeResult:
        yield self._grid
        yield Static("", id="key-table-message")

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)
        self._rebuild()

    def _theme_changed(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        if self._loaded and self._choose_layout(self._visible) != self._layout:
            self._rebuild()

    # -- the API ----------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[ApiKey, ...]:
        """Every loaded key, whatever the filter."""
        return tuple(self._keys.values())

    @property
    def visible_keys(self) -> tuple[ApiKey, ...]:
        """The keys shown, in display order."""
        return tuple(self._visible)

    @property
    def loaded(self) -> bool:
        """True once `set_keys` has been called (before that, the table says nothing)."""
        return self._loaded

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def sort(self) -> tuple[Column, bool]:
        """The sort column and whether its natural order is reversed."""
        return self._sort_column, self._sort_reverse

    @property
    def highlighted_key(self) -> ApiKey | None:
        """The key under the row cursor, or None when no row is shown."""
        if not self._visible:
            return None
        row = self._grid.cursor_row
        if 0 <= row < len(self._visible):
            return self._visible[row]
        return None

    def set_keys(self, keys: Iterable[ApiKey], now: datetime) -> None:
        """Replace the whole list (a load or refresh). The highlighted key stays highlighted."""
        self._keys = {key.uid: key for key in keys}
        self._now = now
        self._loaded = True
        self._rebuild()

    def add_key(self, key: ApiKey, now: datetime, *, highlight: bool = True) -> None:
        """Add (or replace) one key, e.g. a freshly created one, and move the cursor to it."""
        self._keys[key.uid] = key
        self._now = now
        self._loaded = True
        self._rebuild(highlight_uid=key.uid if highlight else None)

    def remove_key(self, uid: str) -> None:
        """Drop one key (deleted). The cursor stays on the same row position."""
        if self._keys.pop(uid, None) is not None:
            self._rebuild()

    def refresh_times(self, now: datetime) -> None:
        """Recompute the relative times ("3 days ago") against `now`, in place: the cursor
        and scroll position stay where they are."""
        self._now = now
        if not self.is_mounted or not self._loaded:
            return
        layout = self._choose_layout(self._visible)
        if layout != self._layout:
            self._rebuild()
            return
        styles = self._cell_styles()
        columns = [column.value for column in Column]
        grid = self._grid
        for key in self._visible:
            cells = self._cells(key, styles)
            for column, cell in zip(columns, cells):
                if grid.get_cell(key.uid, column) != cell:
                    grid.update_cell(key.uid, column, cell, update_width=True)

    def filter(self, text: str) -> None:  # noqa: A003 - the table's verb
        """Show only keys whose name contains `text` (case-insensitive). "" shows all."""
        text = text.strip()
        if text == self._filter:
            return
        self._filter = text
        self._rebuild()

    def sort_by(self, column: Column | str, reverse: bool = False) -> None:
        """Sort by `column` in its natural order (times newest first), or the opposite."""
        self._sort_column = Column(column)
        self._sort_reverse = reverse
        self._rebuild()

    def cycle_sort(self) -> None:
        """Sort by the next column, in its natural order."""
        columns = list(Column)
        index = columns.index(self._sort_column)
        self.sort_by(columns[(index + 1) % len(columns)])

    def reverse_sort(self) -> None:
        self.sort_by(self._sort_column, not self._sort_reverse)

    def focus(self, scroll_visible: bool = True) -> KeyTable:
        """Focus the rows (when there are rows to focus)."""
        if self._grid.display and self._visible:
            self._grid.focus(scroll_visible)
        return self

    @property
    def compact(self) -> bool:
        """True when the table is too narrow for the full layout: short relative times, no
        Delete column (d / Delete still delete)."""
        return self._layout.compact

    # -- rendering --------------------------------------------------------------------------

    def _cell_styles(self) -> CellStyles:
        try:
            variables = self.app.theme_variables
        except Exception:  # noqa: BLE001 - not mounted yet: plain styles
            return CellStyles()
        warning = variables.get("text-warning") or variables.get("warning", "")
        error = variables.get("text-error") or variables.get("error", "")
        return CellStyles(
            soon=f"bold {warning}".strip(),
            expired=f"bold {error}".strip(),
            delete=f"underline {error}".strip(),
        )

    def _ordered(self) -> list[ApiKey]:
        needle = self._filter.casefold()
        keys = [key for key in self._keys.values() if needle in key.name.casefold()]
        spec = _COLUMN_SPECS[self._sort_column]
        descending = spec.descending_first != self._sort_reverse
        # Stable tie-break: newest first, then uid, whatever the main order.
        keys.sort(key=lambda k: k.uid)
        keys.sort(key=lambda k: k.created_at, reverse=True)
        keys.sort(key=spec.sort_key, reverse=descending)
        return keys

    def _header(self, column: Column) -> Text:
        if column is not self._sort_column:
            return Text(column.label)
        spec = _COLUMN_SPECS[column]
        descending = spec.descending_first != self._sort_reverse
        arrow = self.SORT_DESCENDING if descending else self.SORT_ASCENDING
        return Text.assemble(column.label, " ", (arrow, "bold"))

    def _choose_layout(self, keys: list[ApiKey]) -> _Layout:
        """The widest layout that fits: full, then compact, then compact without the Delete
        column. Names are cut to what room is left, but not below NAME_MIN."""
        width = self.size.width
        if width <= 0 or not keys:
            return _Layout(compact=False, name_max=NAME_MAX, action=True)
        if len(keys) + 1 > self.size.height:
            width -= self._grid.styles.scrollbar_size_vertical
        pad = 2 * self._grid.cell_padding
        headers = [self._header(column).cell_len for column in Column]
        for compact, action in ((False, True), (True, True), (True, False)):
            widths = list(headers)
            for key in keys:
                for index, text in enumerate(cell_strings(key, self._now, compact=compact)):
                    widths[index] = max(widths[index], cell_len(text))
            columns = len(widths) + (1 if action else 0)
            others = sum(widths[1:]) + (cell_len(DELETE_LABEL) if action else 0)
            room = width - others - pad * columns
            if room >= min(NAME_MIN, widths[0]):
                return _Layout(compact=compact, name_max=min(NAME_MAX, room), action=action)
        return _Layout(compact=True, name_max=NAME_MIN, action=False)

    def _rebuild(self, *, highlight_uid: str | None = None) -> None:
        if not self.is_mounted:
            return
        grid = self._grid
        previous = self.highlighted_key
        previous_row = grid.cursor_row
        keep_uid = highlight_uid or (previous.uid if previous else None)

        self._visible = self._ordered()
        self._layout = layout = self._choose_layout(self._visible)
        styles = self._cell_styles()
        grid.clear(columns=True)
        for column in Column:
            grid.add_column(self._header(column), key=column.value)
        if layout.action:
            grid.add_column(Text(""), key=_ACTION_COLUMN)
        for key in self._visible:
            grid.add_row(*self._cells(key, styles), key=key.uid)

        if self._visible:
            uids = [key.uid for key in self._visible]
            if keep_uid in uids:
                row = uids.index(keep_uid)
            else:
                row = min(max(previous_row, 0), len(uids) - 1)
            grid.move_cursor(row=row, animate=False, scroll=True)
        self._show_message()
        self.post_message(self.ViewChanged(self))

    def _cells(self, key: ApiKey, styles: CellStyles) -> tuple[Text, ...]:
        layout = self._layout
        return key_cells(
            key,
            self._now,
            styles,
            compact=layout.compact,
            name_max=layout.name_max,
            action=layout.action,
        )

    def _show_message(self) -> None:
        message = self.query_one("#key-table-message", Static)
        if not self._loaded:
            text: Text | None = None  # loading: an empty grid under the loading indicator
        elif not self._keys:
            text = Text.assemble((EMPTY_TITLE, "bold"), "\n", self._empty_hint)
        elif not self._visible:
            text = Text(NO_MATCH)
        else:
            text = None
        self.set_class(text is not None, "-message")
        message.update(text or "")

    @on(_KeyGrid.DeleteClicked)
    def _delete_clicked(self, event: _KeyGrid.DeleteClicked) -> None:
        event.stop()
        key = self._keys.get(event.row_key)
        if key is not None:
            self.post_message(self.DeleteRequested(self, key))

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        try:
            column = Column(event.column_key.value)
        except ValueError:
            return  # the action column does not sort
        if column is self._sort_column:
            self.reverse_sort()
        else:
            self.sort_by(column)

    @on(DataTable.RowHighlighted)
    @on(DataTable.RowSelected)
    @on(DataTable.CellHighlighted)
    @on(DataTable.CellSelected)
    def _internal(self, event: Message) -> None:
        # The grid's own messages stay inside: the app knows only KeyTable's API.
        event.stop()

    def displayed_cells(self, uid: str) -> tuple[str, ...] | None:
        """The plain text of a shown row's cells, as on screen; None when it isn't shown."""
        try:
            return tuple(cell.plain for cell in self._grid.get_row(uid))
        except RowDoesNotExist:
            return None

    @property
    def message(self) -> str:
        """The empty / no-match text shown instead of rows ("" when rows are shown)."""
        if not self.has_class("-message"):
            return ""
        return str(self.query_one("#key-table-message", Static).content)
