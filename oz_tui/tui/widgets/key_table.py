"""`KeyTable`: the list of API keys, behind one narrow API.

The rest of the app talks to the table only through this class: `set_keys`, `add_key`,
`remove_key`, `filter`, `sort_by` / `cycle_sort` / `reverse_sort`, `refresh_times`, the read-only
properties (`keys`, `visible_keys`, `highlighted_key`, `sort`, `filter_text`, `loaded`) and the
messages `DeleteRequested` and `ViewChanged`.

The rows are drawn by `KeyGrid` (a line-API `ScrollView` styled like Textual's DataTable) which
renders only the rows on screen, so 10,000 keys load, filter and sort in milliseconds. The table
keeps every key in sort order; a search filters that list (no re-sort, no network), and each
key's cell text is computed once per clock tick and remembered.

Every cell is a Rich `Text` built with `literal()`: untrusted names are never parsed as markup.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, Callable, ClassVar, Iterable, Sequence, overload

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from oz_tui.api.models import ApiKey, KeyScope
from oz_tui.display import date_label, expiring_soon, relative_time, scope_label
from oz_tui.sanitize import safe_text
from oz_tui.tui.literal import literal
from oz_tui.tui.widgets.key_grid import GridColumn, KeyGrid

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

#: The Scope column's width when agents' names are left out (the narrowest layout).
SCOPE_WORD_WIDTH = max(cell_len(scope.value) for scope in KeyScope)
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
    Column.SCOPE: _ColumnSpec(
        "Scope", lambda k: (k.scope.value, (k.agent_name or "").casefold()), False
    ),
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


def _clean(text: str) -> str:
    """`safe_text`, fast: printable ASCII comes back unchanged from it (a documented property
    of `safe_text`, checked in tests/test_key_table.py), anything else is remembered."""
    if text.isascii() and text.isprintable():
        return text
    return _clean_cached(text)


@functools.lru_cache(maxsize=32768)
def _clean_cached(text: str) -> str:
    # A rebuild sanitises every name again, and names rarely change.
    return safe_text(text)


def search_text(key: ApiKey) -> str:
    """What the search box matches a key by: its name, and its agent's name if it has one.
    Kept casefolded; the two are joined by a line break, which the one-line search box
    never holds, so no search matches across them."""
    if key.agent_name:
        return f"{key.name.casefold()}\n{key.agent_name.casefold()}"
    return key.name.casefold()


def cell_strings(key: ApiKey, now: datetime, *, compact: bool = False) -> tuple[str, ...]:
    """The plain text of one row's data cells (Name, Key, Scope, Created, Last used, Expires).

    The name is sanitised (no controls, no bidi tricks) but not cut.
    """
    when = short_relative_time if compact else relative_time
    return (
        _clean(key.name),
        _clean(key.masked),
        scope_label(key),
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
    agent_names: bool = True,
) -> tuple[Text, ...]:
    """One row of the table as Rich Text: the data cells, then (unless `action` is False) the
    Delete cell. Untrusted text goes through `literal()`: never markup, never escapes.
    `agent_names` False leaves the agent's name out of an Agent key's Scope."""
    strings = cell_strings(key, now, compact=compact)
    state = _expires_words(key, now, compact=compact)[1]
    return _cells_from_strings(
        key, strings, state, styles, name_max=name_max, action=action, agent_names=agent_names
    )


def _cells_from_strings(
    key: ApiKey,
    strings: tuple[str, ...],
    state: str | None,
    styles: CellStyles,
    *,
    name_max: int,
    action: bool,
    agent_names: bool,
) -> tuple[Text, ...]:
    _name, masked, scope, created, last_used, expires = strings
    if not agent_names:
        scope = key.scope.value
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


def _cut_width(clean_name: str, name_max: int) -> int:
    """The width of a (sanitised) name as shown when cut to `name_max` characters."""
    if len(clean_name) <= name_max:
        return cell_len(clean_name)
    return cell_len(clean_name[: max(name_max - 1, 0)] + "…")


@dataclass(frozen=True)
class _Layout:
    compact: bool
    name_max: int
    action: bool
    #: Agent keys' Scope names the agent ("Agent · deploy-bot"), or is just "Agent".
    agent_names: bool = True


_DEFAULT_LAYOUT = _Layout(compact=False, name_max=NAME_MAX, action=True)
#: The layouts tried, widest first: (compact, Delete column, agents' names).
_LAYOUT_STEPS = (
    (False, True, True),
    (True, True, True),
    (True, False, True),
    (True, False, False),
)


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
        #: Every key in the tie-break order (newest first, then uid), and in the current sort
        #: order; None when they must be sorted again.
        self._base: list[ApiKey] | None = None
        self._sorted: list[ApiKey] | None = None
        self._visible: list[ApiKey] = []
        #: uid -> row of `_visible`, built when first asked for.
        self._rows: dict[str, int] | None = None
        self._now = datetime.now(timezone.utc)
        self._filter = ""
        self._sort_column = Column.CREATED
        self._sort_reverse = False
        self._loaded = False
        self._layout = _DEFAULT_LAYOUT
        self._styles = CellStyles()
        #: Per key (by uid) and layout (compact or not), for `_now`: the cell strings and
        #: their widths. Names (with agent names) are also kept casefolded, for the search.
        self._strings: dict[bool, dict[str, tuple[str, ...]]] = {False: {}, True: {}}
        self._widths: dict[bool, dict[str, tuple[int, ...]]] = {False: {}, True: {}}
        self._folded: dict[str, str] = {}
        #: Column maxima of the visible keys' widths, per layout (compact or not), and of the
        #: names as cut, per (layout, name_max). They hold while the set of visible keys and
        #: the clock stay the same (a sort changes neither); `_view` counts the changes.
        self._view = 0
        self._maxima_view = -1
        self._maxima: dict[bool, list[int]] = {}
        self._cut_maxima: dict[tuple[bool, int], int] = {}
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
        self._forget_strings()
        self._folded = {}
        self._base = self._sorted = None
        self._now = now
        self._loaded = True
        self._rebuild()

    def add_key(self, key: ApiKey, now: datetime, *, highlight: bool = True) -> None:
        """Add (or replace) one key, e.g. a freshly created one, and move the cursor to it."""
        self._keys[key.uid] = key
        self._forget(key.uid)
        self._base = self._sorted = None
        self._set_now(now)
        self._loaded = True
        self._rebuild(highlight_uid=key.uid if highlight else None)

    def remove_key(self, uid: str) -> None:
        """Drop one key (deleted). The cursor stays on the same row position."""
        key = self._keys.pop(uid, None)
        if key is None:
            return
        self._forget(uid)
        for order in (self._base, self._sorted):
            if order is not None:
                order.remove(key)
        self._rebuild()

    def refresh_times(self, now: datetime) -> None:
        """Recompute the relative times ("3 days ago") against `now`, in place: the cursor
        and scroll position stay where they are."""
        self._set_now(now)
        if not self.is_mounted or not self._loaded:
            return
        if self._choose_layout(self._visible) != self._layout:
            self._rebuild()
            return
        self._show_rows()

    def filter(self, text: str) -> None:  # noqa: A003 - the table's verb
        """Show only keys whose name or agent's name contains `text` (case-insensitive).
        "" shows all."""
        text = text.strip()
        if text == self._filter:
            return
        self._filter = text
        self._view += 1
        self._rebuild()

    def sort_by(self, column: Column | str, reverse: bool = False) -> None:
        """Sort by `column` in its natural order (times newest first), or the opposite."""
        self._sort_column = Column(column)
        self._sort_reverse = reverse
        self._sorted = None
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

    def displayed_cells(self, uid: str) -> tuple[str, ...] | None:
        """The plain text of a shown row's cells, as on screen; None when it isn't shown."""
        if not self.is_mounted:
            return None
        row = self._row_index().get(uid)
        if row is None:
            return None
        return tuple(cell.plain for cell in self._row_cells(row))

    @property
    def message(self) -> str:
        """The empty / no-match text shown instead of rows ("" when rows are shown)."""
        if not self.has_class("-message"):
            return ""
        return str(self.query_one("#key-table-message", Static).content)

    # -- the model --------------------------------------------------------------------------

    def _set_now(self, now: datetime) -> None:
        if now != self._now:
            self._now = now
            self._forget_strings()

    def _forget_strings(self) -> None:
        self._strings = {False: {}, True: {}}
        self._widths = {False: {}, True: {}}
        self._view += 1

    def _forget(self, uid: str) -> None:
        for compact in (False, True):
            self._strings[compact].pop(uid, None)
            self._widths[compact].pop(uid, None)
        self._folded.pop(uid, None)
        self._view += 1

    def _cell_texts(self, key: ApiKey, compact: bool) -> tuple[str, ...]:
        strings = self._strings[compact].get(key.uid)
        if strings is None:
            strings = cell_strings(key, self._now, compact=compact)
            self._strings[compact][key.uid] = strings
        return strings

    def _column_widths(self, keys: list[ApiKey], compact: bool) -> list[int]:
        """Per data column, the widest cell of the visible `keys` (names uncut), then the
        longest name in characters. Each key's widths are computed once per clock tick; the
        maxima once per set of visible keys."""
        self._check_view()
        maxima = self._maxima.get(compact)
        if maxima is None:
            known = self._widths[compact]
            missing = [key for key in keys if key.uid not in known]
            if missing:
                texts = self._cell_texts
                for key in missing:
                    strings = texts(key, compact)
                    known[key.uid] = (*map(cell_len, strings), len(strings[0]))
            rows = [known[key.uid] for key in keys]
            if rows:
                maxima = [max(map(itemgetter(index), rows)) for index in range(len(Column) + 1)]
            else:
                maxima = [0] * (len(Column) + 1)
            self._maxima[compact] = maxima
        return maxima

    def _cut_name_width(self, keys: list[ApiKey], compact: bool, name_max: int) -> int:
        """The widest name of the visible `keys` as shown, cut to `name_max` characters."""
        self._check_view()
        width = self._cut_maxima.get((compact, name_max))
        if width is None:
            strings = self._strings[compact]
            width = max((_cut_width(strings[key.uid][0], name_max) for key in keys), default=0)
            self._cut_maxima[compact, name_max] = width
        return width

    def _check_view(self) -> None:
        if self._maxima_view != self._view:
            self._maxima_view = self._view
            self._maxima = {}
            self._cut_maxima = {}

    def _sorted_keys(self) -> list[ApiKey]:
        if self._sorted is None:
            if self._base is None:
                # The stable tie-break: newest first, then uid, whatever the main order.
                base = sorted(self._keys.values(), key=lambda k: k.uid)
                base.sort(key=lambda k: k.created_at, reverse=True)
                self._base = base
            spec = _COLUMN_SPECS[self._sort_column]
            descending = spec.descending_first != self._sort_reverse
            self._sorted = sorted(self._base, key=spec.sort_key, reverse=descending)
        return self._sorted

    def _ordered(self) -> list[ApiKey]:
        """The keys to show: the sorted list, filtered by name or agent name (no re-sorting)."""
        keys = self._sorted_keys()
        needle = self._filter.casefold()
        if not needle:
            return list(keys)
        folded = self._folded
        if len(folded) != len(self._keys):
            for key in keys:
                if key.uid not in folded:
                    folded[key.uid] = search_text(key)
        return [key for key in keys if needle in folded[key.uid]]

    def _row_index(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {key.uid: row for row, key in enumerate(self._visible)}
        return self._rows

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

    def _header(self, column: Column) -> Text:
        if column is not self._sort_column:
            return Text(column.label)
        spec = _COLUMN_SPECS[column]
        descending = spec.descending_first != self._sort_reverse
        arrow = self.SORT_DESCENDING if descending else self.SORT_ASCENDING
        return Text.assemble(column.label, " ", (arrow, "bold"))

    def _choose_layout(self, keys: list[ApiKey]) -> _Layout:
        """The widest layout that fits: full, then compact, then compact without the Delete
        column, then also without agents' names in the Scope column. Names are cut to what
        room is left, but not below NAME_MIN."""
        width = self.size.width
        if width <= 0 or not keys:
            return _DEFAULT_LAYOUT
        if len(keys) + 1 > self.size.height:
            width -= self._grid.styles.scrollbar_size_vertical
        pad = 2 * self._grid.cell_padding
        headers = [self._header(column).cell_len for column in Column]
        for compact, action, agent_names in _LAYOUT_STEPS:
            maxima = self._column_widths(keys, compact)
            if not agent_names:
                maxima = _without_agent_names(maxima)
            widths = [max(pair) for pair in zip(headers, maxima)]
            columns = len(widths) + (1 if action else 0)
            others = sum(widths[1:]) + (cell_len(DELETE_LABEL) if action else 0)
            room = width - others - pad * columns
            if room >= min(NAME_MIN, widths[0]):
                return _Layout(
                    compact=compact,
                    name_max=min(NAME_MAX, room),
                    action=action,
                    agent_names=agent_names,
                )
        return _Layout(compact=True, name_max=NAME_MIN, action=False, agent_names=False)

    def _rebuild(self, *, highlight_uid: str | None = None) -> None:
        """Recompute what is shown (order, filter, layout) and show it."""
        if not self.is_mounted:
            return
        grid = self._grid
        previous = self.highlighted_key
        previous_row = grid.cursor_row
        keep_uid = highlight_uid or (previous.uid if previous else None)

        self._visible = self._ordered()
        self._rows = None
        self._layout = self._choose_layout(self._visible)
        self._styles = self._cell_styles()
        self._show_rows()

        if self._visible:
            row = self._row_index().get(keep_uid) if keep_uid is not None else None
            if row is None:
                row = min(max(previous_row, 0), len(self._visible) - 1)
            grid.move_cursor(row)
            # Again once laid out, in case the grid is only now being shown (no size yet).
            self.call_after_refresh(grid.scroll_cursor_into_view)
        self._show_message()
        self.post_message(self.ViewChanged(self))

    def _show_rows(self) -> None:
        """Hand the visible keys and the column widths to the grid (cursor and scroll stay)."""
        layout = self._layout
        keys = self._visible
        headers = [self._header(column) for column in Column]
        maxima = self._column_widths(keys, layout.compact)
        if not layout.agent_names:
            maxima = _without_agent_names(maxima)
        widths = [max(header.cell_len, width) for header, width in zip(headers, maxima)]
        if keys and maxima[-1] > layout.name_max:
            # Some names are cut: the column is as wide as the widest name *as shown*.
            widths[0] = max(
                headers[0].cell_len,
                self._cut_name_width(keys, layout.compact, layout.name_max),
            )
        columns = [
            GridColumn(column.value, header, width)
            for column, header, width in zip(Column, headers, widths)
        ]
        if layout.action:
            columns.append(GridColumn(_ACTION_COLUMN, Text(""), cell_len(DELETE_LABEL)))
        self._grid.set_rows(columns, _Uids(keys), self._row_cells)

    def _row_cells(self, row: int) -> tuple[Text, ...]:
        """The cells of a visible row, built when the grid draws it."""
        key = self._visible[row]
        layout = self._layout
        strings = self._cell_texts(key, layout.compact)
        state = _expires_words(key, self._now, compact=layout.compact)[1]
        return _cells_from_strings(
            key,
            strings,
            state,
            self._styles,
            name_max=layout.name_max,
            action=layout.action,
            agent_names=layout.agent_names,
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

    # -- the grid's messages ----------------------------------------------------------------

    @on(KeyGrid.CellClicked)
    def _cell_clicked(self, event: KeyGrid.CellClicked) -> None:
        event.stop()
        if event.column_key != _ACTION_COLUMN or not 0 <= event.row < len(self._visible):
            return
        self.post_message(self.DeleteRequested(self, self._visible[event.row]))

    @on(KeyGrid.HeaderClicked)
    def _header_clicked(self, event: KeyGrid.HeaderClicked) -> None:
        event.stop()
        try:
            column = Column(event.column_key)
        except ValueError:
            return  # the action column does not sort
        if column is self._sort_column:
            self.reverse_sort()
        else:
            self.sort_by(column)


def _without_agent_names(maxima: list[int]) -> list[int]:
    """Column maxima with the Scope column as wide as its widest word, agents left out."""
    maxima = list(maxima)
    maxima[list(Column).index(Column.SCOPE)] = SCOPE_WORD_WIDTH
    return maxima


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
