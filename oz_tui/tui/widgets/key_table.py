"""`KeyTable`: the list of API keys, behind one narrow API.

The rest of the app talks to the table only through this class: `set_keys`, `add_key`,
`remove_key`, `filter`, `sort_by` / `cycle_sort` / `reverse_sort`, `refresh_times`, the marks
(`toggle_mark`, `mark_visible`, `clear_marks`, `set_mark_failure`), the read-only properties
(`keys`, `visible_keys`, `highlighted_key`, `sort`, `filter_text`, `search_hint`, `loaded`,
`marked_keys`, `mark_failures`) and the messages `DeleteRequested`, `DetailsRequested` and
`ViewChanged`.

The rows are drawn by `KeyGrid` (a line-API `ScrollView` styled like Textual's DataTable) which
renders only the rows on screen, so 10,000 keys load, filter and sort in milliseconds. The table
keeps every key in sort order; a search (free text and qualifiers, read by `oz_tui.hygiene`)
filters that list (no re-sort, no network), and each key's cell text is computed once per clock
tick and remembered.

Layouts, widest first: the uid and exact expiry times (wide terminals), full, compact (short
relative times), compact without the Delete column; names are cut only when none of these fits
them. Every header keeps room for the sort arrow, so sorting never changes the layout.

Every cell is a Rich `Text` built with `literal()`: untrusted names are never parsed as markup.
"""

from __future__ import annotations

import enum
import functools
import re
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, Callable, ClassVar, Iterable, NamedTuple, Sequence, overload

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from oz_tui.api.models import ApiKey, KeyScope
from oz_tui.display import date_label, expiring_soon, relative_time, scope_label
from oz_tui.hygiene import Query, SearchFields, parse_query
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
UID_LABEL = "Uid"
#: The marks column: a marked row, and a marked row whose delete failed.
MARK = "●"
MARK_FAILED = "!"
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

    def header_label(self, mode: str) -> str:
        """The header as the table's mode ("full", "compact", "narrow", "wide") words it."""
        return _HEADER_LABELS.get((self, _HEADER_MODE.get(mode, mode)), self.label)


class _ColumnSpec(NamedTuple):
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
#: The narrow mode is worded as the compact one (it only leaves agents' names out).
_HEADER_MODE = {"narrow": "compact"}
_HEADER_LABELS = {
    (Column.LAST_USED, "compact"): "Used",
    (Column.EXPIRES, "compact"): "Expires",
    (Column.EXPIRES, "wide"): "Expires at (UTC)",
}
_ACTION_COLUMN = "action"
_MARK_COLUMN = "mark"
_UID_COLUMN = "uid"
#: Every header is drawn this much wider than its label: room for " ▲" whatever the sort.
_ARROW_ROOM = 2


class CellStyles(NamedTuple):
    """Styles for the cells that stand out; the words carry the meaning, the styles help."""

    soon: str = "bold"
    expired: str = "bold"
    delete: str = "underline"
    never: str = "dim"
    mark: str = "bold"
    mark_failed: str = "bold"


_UNITS = {"minute": "m", "hour": "h", "day": "d", "month": "mo", "year": "y"}
_SPAN = re.compile(r"(\d+) (minute|hour|day|month|year)s?")


def short_relative_time(when: datetime | None, now: datetime) -> str:
    """`relative_time` abbreviated for narrow terminals: "3d ago", "40m ago", "in 2mo"."""
    return _abbreviated(relative_time(when, now))


@functools.lru_cache(maxsize=1024)
def _abbreviated(words: str) -> str:
    # A few hundred distinct phrases ("3 days ago") cover every key: a narrow table's first
    # paint of 10,000 keys would otherwise run the substitution for each of their times.
    return _SPAN.sub(lambda m: f"{m.group(1)}{_UNITS[m.group(2)]}", words)


def exact_time(when: datetime) -> str:
    """`2026-12-24 12:00` (UTC, as its header says): an expiry as the wide table shows it."""
    return f"{when.astimezone(timezone.utc):%Y-%m-%d %H:%M}"


def _expires_words(
    key: ApiKey, now: datetime, *, compact: bool, exact: bool = False
) -> tuple[str, str | None]:
    """The Expires at text, and the state word it carries ("soon", "expired") if any."""
    if key.expires_at is None:
        return date_label(None), None
    label = exact_time(key.expires_at) if exact else date_label(key.expires_at)
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


def cell_strings(
    key: ApiKey,
    now: datetime,
    *,
    compact: bool = False,
    exact: bool = False,
    agent_names: bool = True,
) -> tuple[str, ...]:
    """The plain text of one row's data cells (Name, Key, Scope, Created, Last used, Expires);
    `exact` gives the expiry's time too (`2026-12-24 12:00`, UTC), as wide terminals show it;
    `agent_names` False leaves the agent's name out of an Agent key's Scope ("Agent").

    The name is sanitised (no controls, no bidi tricks) but not cut.
    """
    full = (
        _clean(key.name),
        _clean(key.masked),
        scope_label(key) if agent_names else key.scope.value,
        relative_time(key.created_at, now),
        relative_time(key.last_used_at, now),
        _expires_words(key, now, compact=False, exact=exact)[0],
    )
    return compact_strings(full, key, now, exact=exact) if compact else full


def compact_strings(
    full: tuple[str, ...], key: ApiKey, now: datetime, *, exact: bool = False
) -> tuple[str, ...]:
    """`cell_strings(compact=True)` from the full ones: the times abbreviated. A narrow
    table's first paint derives them so, instead of working out every key's times again."""
    name, masked, scope, created, used, _expires = full
    return (
        name,
        masked,
        scope,
        _abbreviated(created),
        _abbreviated(used),
        _expires_words(key, now, compact=True, exact=exact)[0],
    )


def key_cells(
    key: ApiKey,
    now: datetime,
    styles: CellStyles = CellStyles(),
    *,
    compact: bool = False,
    name_max: int = NAME_MAX,
    action: bool = True,
    uid: bool = False,
    agent_names: bool = True,
) -> tuple[Text, ...]:
    """One row of the table as Rich Text: the data cells, then (if `uid`: wide terminals) the
    uid, then (unless `action` is False) the Delete cell. Untrusted text goes through
    `literal()`: never markup, never escapes."""
    strings = cell_strings(key, now, compact=compact, exact=uid, agent_names=agent_names)
    state = _expires_words(key, now, compact=compact)[1]
    return _cells_from_strings(
        key, strings, state, styles, name_max=name_max, action=action, uid=uid
    )


def _cells_from_strings(
    key: ApiKey,
    strings: tuple[str, ...],
    state: str | None,
    styles: CellStyles,
    *,
    name_max: int,
    action: bool,
    uid: bool = False,
) -> tuple[Text, ...]:
    _name, masked, scope, created, last_used, expires = strings
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
    if uid:
        cells += (literal(key.uid),)
    if action:
        cells += (Text(DELETE_LABEL, style=styles.delete),)
    return cells


def _cut_width(clean_name: str, name_max: int) -> int:
    """The width of a (sanitised) name as shown when cut to `name_max` characters."""
    if len(clean_name) <= name_max:
        return cell_len(clean_name)
    return cell_len(clean_name[: max(name_max - 1, 0)] + "…")


class _Layout(NamedTuple):
    compact: bool
    name_max: int
    action: bool
    #: Wide terminals: the uid column, and expiry times to the minute.
    wide: bool = False
    #: Agent keys' Scope names the agent ("Agent · deploy-bot"), or (narrowest) just "Agent".
    agent_names: bool = True

    @property
    def mode(self) -> _Mode:
        if self.wide:
            return "wide"
        if self.compact:
            return "compact" if self.agent_names else "narrow"
        return "full"


_Mode = str  # "full", "compact", "narrow" or "wide": how a row's cell strings are written
_MODES: tuple[_Mode, ...] = ("full", "compact", "narrow", "wide")
#: The Scope column's width when agents' names are left out (the narrow mode).
_SCOPE_WORD_WIDTH = max(cell_len(scope.value) for scope in KeyScope)
_SCOPE_INDEX = list(Column).index(Column.SCOPE)
#: Where the time columns (Created, Last used, Expires) start: all that compact changes.
_TIMES_INDEX = list(Column).index(Column.CREATED)
#: Indices into a key's remembered widths, after the six data columns.
_NAME_LENGTH = len(Column)
_UID_WIDTH = len(Column) + 1
_DEFAULT_LAYOUT = _Layout(compact=False, name_max=NAME_MAX, action=True)
#: The layouts tried, widest first, each only if every name fits uncut (up to NAME_MAX): the
#: Delete column goes first (d and the details dialog delete too), then the full times, then
#: agents' names.
_LAYOUTS = (
    _Layout(compact=False, name_max=NAME_MAX, action=True, wide=True),
    _Layout(compact=False, name_max=NAME_MAX, action=False, wide=True),
    _DEFAULT_LAYOUT,
    _Layout(compact=False, name_max=NAME_MAX, action=False),
    _Layout(compact=True, name_max=NAME_MAX, action=False),
    _Layout(compact=True, name_max=NAME_MAX, action=False, agent_names=False),
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
        self._query = parse_query("")
        #: Marked keys by uid, in the order marked; and why a marked key's delete failed.
        self._marks: dict[str, None] = {}
        self._mark_failures: dict[str, str] = {}
        self._sort_column = Column.CREATED
        self._sort_reverse = False
        self._loaded = False
        self._layout = _DEFAULT_LAYOUT
        self._styles = CellStyles()
        #: Per key (by uid) and mode (full, compact, wide), for `_now`: the cell strings and
        #: their widths. Each key's searchable text is also kept, casefolded, for the search.
        self._strings: dict[_Mode, dict[str, tuple[str, ...]]] = {mode: {} for mode in _MODES}
        self._widths: dict[_Mode, dict[str, tuple[int, ...]]] = {mode: {} for mode in _MODES}
        self._folded: dict[str, SearchFields] = {}
        #: Column maxima of the visible keys' widths, per mode, and of the names as cut, per
        #: (mode, name_max). They hold while the set of visible keys and the clock stay the
        #: same (a sort changes neither); `_view` counts the changes.
        self._view = 0
        self._maxima_view = -1
        self._maxima: dict[_Mode, list[int]] = {}
        self._cut_maxima: dict[tuple[_Mode, int], int] = {}
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
    def search_hint(self) -> str:
        """What the search couldn't read (an unknown qualifier, a bad duration), in one line;
        "" when all of it was understood."""
        return self._query.hint

    @property
    def marked_keys(self) -> tuple[ApiKey, ...]:
        """The marked keys, shown or not (a search doesn't unmark), in the order marked."""
        return tuple(self._keys[uid] for uid in self._marks)

    @property
    def mark_failures(self) -> dict[str, str]:
        """uid -> why deleting that marked key failed (it stays marked until unmarked)."""
        return dict(self._mark_failures)

    def is_marked(self, uid: str) -> bool:
        return uid in self._marks

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
        """Replace the whole list (a load or refresh). The highlighted key stays highlighted;
        marks stay on the keys still listed."""
        self._keys = {key.uid: key for key in keys}
        self._drop_marks_of_missing_keys()
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
        self._marks.pop(uid, None)
        self._mark_failures.pop(uid, None)
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
        if self._query.conditions:
            # "expires:<7d" and the like depend on the time: filter again.
            self._rebuild()
            return
        if self._choose_layout(self._visible) != self._layout:
            self._rebuild()
            return
        self._show_rows()

    def filter(self, text: str) -> None:  # noqa: A003 - the table's verb
        """Show only keys matching `text`: free text (case-insensitive, in the name, the agent's
        name, the last four, the start of the uid) and qualifiers (`oz_tui.hygiene`). "" shows
        all; what can't be read is in `search_hint`."""
        text = text.strip()
        if text == self._filter:
            return
        self._filter = text
        self._query = parse_query(text)
        self._view += 1
        self._rebuild()

    # -- marks ------------------------------------------------------------------------------

    def toggle_mark(self, uid: str | None = None) -> None:
        """Mark or unmark a key (the highlighted one unless `uid` is given)."""
        if uid is None:
            key = self.highlighted_key
            if key is None:
                return
            uid = key.uid
        if uid not in self._keys:
            return
        if uid in self._marks:
            del self._marks[uid]
            self._mark_failures.pop(uid, None)
        else:
            self._marks[uid] = None
        self._marks_changed()

    def mark_visible(self) -> None:
        """Mark every key shown (keys hidden by a search keep their marks)."""
        for key in self._visible:
            self._marks.setdefault(key.uid, None)
        self._marks_changed()

    def clear_marks(self) -> None:
        self._marks.clear()
        self._mark_failures.clear()
        self._marks_changed()

    def set_mark_failure(self, uid: str, reason: str) -> None:
        """Keep `uid` marked, drawn as failed, with `reason` (e.g. why its delete failed)."""
        if uid not in self._keys:
            return
        self._marks.setdefault(uid, None)
        self._mark_failures[uid] = reason
        self._marks_changed()

    def _drop_marks_of_missing_keys(self) -> None:
        for uid in [uid for uid in self._marks if uid not in self._keys]:
            del self._marks[uid]
            self._mark_failures.pop(uid, None)

    def _marks_changed(self) -> None:
        if self.is_mounted:
            self._grid.redraw()
        self.post_message(self.ViewChanged(self))

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
        row = self._row_index().get(uid)
        if row is None:
            return None
        return tuple(cell.plain for cell in self._row_cells(row)[1:])

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
        self._strings = {mode: {} for mode in _MODES}
        self._widths = {mode: {} for mode in _MODES}
        self._view += 1

    def _forget(self, uid: str) -> None:
        for mode in _MODES:
            self._strings[mode].pop(uid, None)
            self._widths[mode].pop(uid, None)
        self._folded.pop(uid, None)
        self._view += 1

    def _cell_texts(self, key: ApiKey, mode: _Mode) -> tuple[str, ...]:
        if mode == "narrow":
            # The compact strings, the scope without the agent's name.
            strings = self._cell_texts(key, "compact")
            if key.scope is not KeyScope.AGENT:
                return strings
            return (*strings[:_SCOPE_INDEX], key.scope.value, *strings[_SCOPE_INDEX + 1 :])
        strings = self._strings[mode].get(key.uid)
        if strings is None:
            full = self._strings["full"].get(key.uid) if mode == "compact" else None
            if full is not None:
                strings = compact_strings(full, key, self._now)
            else:
                strings = cell_strings(
                    key, self._now, compact=mode == "compact", exact=mode == "wide"
                )
            self._strings[mode][key.uid] = strings
        return strings

    def _column_widths(self, keys: list[ApiKey], mode: _Mode) -> list[int]:
        """Per data column, the widest cell of the visible `keys` (names uncut), then the
        longest name in characters, then the widest uid. Each key's widths are computed once
        per clock tick; the maxima once per set of visible keys."""
        self._check_view()
        maxima = self._maxima.get(mode)
        if maxima is None and mode == "narrow":
            # As the compact layout, with the Scope column no wider than its words.
            maxima = list(self._column_widths(keys, "compact"))
            maxima[_SCOPE_INDEX] = min(maxima[_SCOPE_INDEX], _SCOPE_WORD_WIDTH)
            self._maxima[mode] = maxima
        elif maxima is None and mode == "wide":
            # As the full layout, but for the expiry (to the minute): worked out from the
            # keys' dates instead of writing every key's cells again.
            maxima = list(self._column_widths(keys, "full"))
            maxima[len(Column) - 1] = self._exact_expires_width(keys)
            self._maxima[mode] = maxima
        elif maxima is None:
            known = self._widths[mode]
            missing = [key for key in keys if key.uid not in known]
            if missing:
                texts = self._cell_texts
                # Compact differs from full only in the times: the other widths are known.
                full = self._widths["full"] if mode == "compact" else {}
                for key in missing:
                    strings = texts(key, mode)
                    same = full.get(key.uid)
                    if same is not None:
                        known[key.uid] = (
                            *same[:_TIMES_INDEX],
                            *map(cell_len, strings[_TIMES_INDEX:]),
                            *same[len(Column):],
                        )
                        continue
                    known[key.uid] = (
                        *map(cell_len, strings),
                        len(strings[0]),
                        cell_len(_clean(key.uid)),
                    )
            rows = [known[key.uid] for key in keys]
            count = _UID_WIDTH + 1
            if rows:
                maxima = [max(map(itemgetter(index), rows)) for index in range(count)]
            else:
                maxima = [0] * count
            self._maxima[mode] = maxima
        return maxima

    def _exact_expires_width(self, keys: list[ApiKey]) -> int:
        """The widest expiry of `keys` as the wide layout writes it (`exact_time`, then the
        state word): the width depends only on which keys never expire, expire soon, or have
        expired."""
        now = self._now
        sample = exact_time(now)
        widths = {cell_len(date_label(None))}
        for key in keys:
            expires = key.expires_at
            if expires is None:
                continue
            if expiring_soon(expires, now):
                widths.add(cell_len(f"{sample} · {SOON_WORD}"))
            elif expires < now:
                widths.add(cell_len(f"{sample} · {EXPIRED_WORD}"))
            else:
                widths.add(cell_len(sample))
        return max(widths)

    def _cut_name_width(self, keys: list[ApiKey], mode: _Mode, name_max: int) -> int:
        """The widest name of the visible `keys` as shown, cut to `name_max` characters."""
        self._check_view()
        width = self._cut_maxima.get((mode, name_max))
        if width is None:
            width = max((_cut_width(_clean(key.name), name_max) for key in keys), default=0)
            self._cut_maxima[mode, name_max] = width
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
        """The keys to show: the sorted list, filtered by the search (no re-sorting)."""
        keys = self._sorted_keys()
        query: Query = self._query
        if query.empty:
            return list(keys)
        folded = self._folded
        if len(folded) != len(self._keys):
            for key in keys:
                if key.uid not in folded:
                    folded[key.uid] = SearchFields.of(key)
        matches, now = query.matches, self._now
        return [key for key in keys if matches(key, now, folded[key.uid])]

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
        accent = variables.get("text-accent") or variables.get("accent", "")
        return CellStyles(
            soon=f"bold {warning}".strip(),
            expired=f"bold {error}".strip(),
            delete=f"underline {error}".strip(),
            mark=f"bold {accent}".strip(),
            mark_failed=f"bold {error}".strip(),
        )

    def _header(self, column: Column, mode: _Mode) -> Text:
        label = column.header_label(mode)
        if column is not self._sort_column:
            return Text(label)
        spec = _COLUMN_SPECS[column]
        descending = spec.descending_first != self._sort_reverse
        arrow = self.SORT_DESCENDING if descending else self.SORT_ASCENDING
        return Text.assemble(label, " ", (arrow, "bold"))

    @staticmethod
    def _header_widths(mode: _Mode) -> list[int]:
        """The headers' widths: the same whichever column is sorted (room for the arrow)."""
        return [cell_len(column.header_label(mode)) + _ARROW_ROOM for column in Column]

    def _choose_layout(self, keys: list[ApiKey]) -> _Layout:
        """The widest layout (`_LAYOUTS`) in which every name fits uncut (up to NAME_MAX);
        failing that, compact without the Delete column, names cut to the room left but not
        below NAME_MIN. The sort plays no part, so sorting never moves a column."""
        width = self.size.width
        if width <= 0 or not keys:
            return _DEFAULT_LAYOUT
        if len(keys) + 1 > self.size.height:
            width -= self._grid.styles.scrollbar_size_vertical
        pad = 2 * self._grid.cell_padding
        room = 0
        for layout in _LAYOUTS:
            maxima = self._column_widths(keys, layout.mode)
            widths = [max(pair) for pair in zip(self._header_widths(layout.mode), maxima)]
            # The marks column (unpadded), the data columns, then the uid and Delete columns.
            columns = len(widths) + int(layout.wide) + int(layout.action)
            others = 1 + sum(widths[1:])
            if layout.wide:
                others += max(cell_len(UID_LABEL), maxima[_UID_WIDTH])
            if layout.action:
                others += cell_len(DELETE_LABEL)
            room = width - others - pad * columns
            if room >= min(NAME_MAX, widths[0]):
                return layout
        return _Layout(
            compact=True,
            name_max=min(NAME_MAX, max(room, NAME_MIN)),
            action=False,
            agent_names=False,
        )

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
        headers = [self._header(column, layout.mode) for column in Column]
        header_widths = self._header_widths(layout.mode)
        maxima = self._column_widths(keys, layout.mode)
        widths = [max(pair) for pair in zip(header_widths, maxima)]
        if keys and maxima[_NAME_LENGTH] > layout.name_max:
            # Some names are cut: the column is as wide as the widest name *as shown*.
            widths[0] = max(
                header_widths[0],
                self._cut_name_width(keys, layout.mode, layout.name_max),
            )
        columns = [GridColumn(_MARK_COLUMN, Text(""), 1, padding=0)]
        columns += [
            GridColumn(column.value, header, width)
            for column, header, width in zip(Column, headers, widths)
        ]
        if layout.wide:
            uid_width = max(cell_len(UID_LABEL), maxima[_UID_WIDTH])
            columns.append(GridColumn(_UID_COLUMN, Text(UID_LABEL), uid_width))
        if layout.action:
            columns.append(GridColumn(_ACTION_COLUMN, Text(""), cell_len(DELETE_LABEL)))
        self._grid.set_rows(columns, _Uids(keys), self._row_cells)

    def _row_cells(self, row: int) -> tuple[Text, ...]:
        """The cells of a visible row (the mark first), built when the grid draws it."""
        key = self._visible[row]
        layout = self._layout
        strings = self._cell_texts(key, layout.mode)
        state = _expires_words(key, self._now, compact=layout.compact)[1]
        return (self._mark_cell(key.uid),) + _cells_from_strings(
            key,
            strings,
            state,
            self._styles,
            name_max=layout.name_max,
            action=layout.action,
            uid=layout.wide,
        )

    def _mark_cell(self, uid: str) -> Text:
        if uid not in self._marks:
            return _NO_MARK
        if uid in self._mark_failures:
            return Text(MARK_FAILED, style=self._styles.mark_failed)
        return Text(MARK, style=self._styles.mark)

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
        if not 0 <= event.row < len(self._visible):
            return
        key = self._visible[event.row]
        if event.column_key == _ACTION_COLUMN:
            self.post_message(self.DeleteRequested(self, key))
        elif event.column_key == _MARK_COLUMN:
            self.toggle_mark(key.uid)
        elif event.column_key == Column.NAME.value:
            self.post_message(self.DetailsRequested(self, key))

    @on(KeyGrid.RowSelected)
    def _row_selected(self, event: KeyGrid.RowSelected) -> None:
        event.stop()
        if 0 <= event.row < len(self._visible):
            self.post_message(self.DetailsRequested(self, self._visible[event.row]))

    @on(KeyGrid.HeaderClicked)
    def _header_clicked(self, event: KeyGrid.HeaderClicked) -> None:
        event.stop()
        try:
            column = Column(event.column_key)
        except ValueError:
            return  # the marks, uid and action columns do not sort
        if column is self._sort_column:
            self.reverse_sort()
        else:
            self.sort_by(column)


_NO_MARK = Text(" ")


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
