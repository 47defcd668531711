"""`KeyList`: the key list's state, without a screen: which keys are loaded, their order, what
the search shows, and which are marked.

The list keeps every key in sort order; a search (free text and qualifiers, read by
`oz_tui.core.hygiene`) filters that order (no re-sort, no network). What is shown changes only when
`update_view` is called, so the table can read what was shown (the highlighted row) before it
shows the new view. No Textual and no Rich here: `KeyTable` draws it.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, NamedTuple

from oz_tui.core.models import ApiKey
from oz_tui.core.hygiene import SearchFields, parse_query

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


class KeyList:
    """The loaded keys, their sort, the search and the marks; `visible` is the last view."""

    def __init__(self) -> None:
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
        #: Each key's searchable text, casefolded, kept for the search.
        self._folded: dict[str, SearchFields] = {}
        #: Marked keys by uid, in the order marked; and why a marked key's delete failed.
        self._marks: dict[str, None] = {}
        self._mark_failures: dict[str, str] = {}
        self._sort_column = Column.CREATED
        self._sort_reverse = False
        self._loaded = False

    # -- what it holds ----------------------------------------------------------------------

    @property
    def keys(self) -> dict[str, ApiKey]:
        """Every loaded key by uid, whatever the filter (read only)."""
        return self._keys

    @property
    def visible(self) -> list[ApiKey]:
        """The keys shown, in display order, as of the last `update_view` (read only)."""
        return self._visible

    @property
    def loaded(self) -> bool:
        """True once `set_keys` or `add` has been called."""
        return self._loaded

    @property
    def now(self) -> datetime:
        """The time the relative times and time qualifiers are worked out against."""
        return self._now

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def search_hint(self) -> str:
        """What the search couldn't read (an unknown qualifier, a bad duration), in one line;
        "" when all of it was understood."""
        return self._query.hint

    @property
    def time_dependent(self) -> bool:
        """True when what the search shows depends on the time ("expires:<7d")."""
        return bool(self._query.conditions)

    @property
    def sort(self) -> tuple[Column, bool]:
        """The sort column and whether its natural order is reversed."""
        return self._sort_column, self._sort_reverse

    def descending(self, column: Column) -> bool:
        """Whether `column`, sorted, runs high to low (its natural order, or reversed)."""
        reverse = self._sort_reverse if column is self._sort_column else False
        return _COLUMN_SPECS[column].descending_first != reverse

    def row_of(self, uid: str) -> int | None:
        """The row of `uid` in the current view, or None when it isn't shown."""
        if self._rows is None:
            self._rows = {key.uid: row for row, key in enumerate(self._visible)}
        return self._rows.get(uid)

    # -- changes ----------------------------------------------------------------------------

    def set_keys(self, keys: Iterable[ApiKey], now: datetime) -> None:
        """Replace the whole list (a load or refresh); marks stay on the keys still listed."""
        self._keys = {key.uid: key for key in keys}
        for uid in [uid for uid in self._marks if uid not in self._keys]:
            del self._marks[uid]
            self._mark_failures.pop(uid, None)
        self._folded = {}
        self._base = self._sorted = None
        self._now = now
        self._loaded = True

    def add(self, key: ApiKey) -> None:
        """Add (or replace) one key."""
        self._keys[key.uid] = key
        self._folded.pop(key.uid, None)
        self._base = self._sorted = None
        self._loaded = True

    def remove(self, uid: str) -> bool:
        """Drop one key and its mark; False when it wasn't listed."""
        key = self._keys.pop(uid, None)
        if key is None:
            return False
        self._marks.pop(uid, None)
        self._mark_failures.pop(uid, None)
        self._folded.pop(uid, None)
        for order in (self._base, self._sorted):
            if order is not None:
                order.remove(key)
        return True

    def set_now(self, now: datetime) -> bool:
        """Move the clock; True when it moved."""
        if now == self._now:
            return False
        self._now = now
        return True

    def set_filter(self, text: str) -> bool:
        """Search for `text` (stripped): free text (case-insensitive, in the name, the agent's
        name, the last four, the start of the uid) and qualifiers (`oz_tui.core.hygiene`). "" shows
        all. True when the search changed."""
        text = text.strip()
        if text == self._filter:
            return False
        self._filter = text
        self._query = parse_query(text)
        return True

    def sort_by(self, column: Column | str, reverse: bool = False) -> None:
        """Sort by `column` in its natural order (times newest first), or the opposite."""
        self._sort_column = Column(column)
        self._sort_reverse = reverse
        self._sorted = None

    def next_column(self) -> Column:
        """The column after the sorted one, in `Column` order (round)."""
        columns = list(Column)
        return columns[(columns.index(self._sort_column) + 1) % len(columns)]

    def update_view(self) -> list[ApiKey]:
        """Work out what is shown: the sorted keys, filtered by the search (no re-sorting)."""
        self._visible = self._ordered()
        self._rows = None
        return self._visible

    # -- marks ------------------------------------------------------------------------------

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

    def mark_failure(self, uid: str) -> str | None:
        return self._mark_failures.get(uid)

    def toggle_mark(self, uid: str) -> bool:
        """Mark or unmark a listed key; False when `uid` isn't listed."""
        if uid not in self._keys:
            return False
        if uid in self._marks:
            del self._marks[uid]
            self._mark_failures.pop(uid, None)
        else:
            self._marks[uid] = None
        return True

    def mark_visible(self) -> None:
        """Mark every key shown (keys hidden by a search keep their marks)."""
        for key in self._visible:
            self._marks.setdefault(key.uid, None)

    def clear_marks(self) -> None:
        self._marks.clear()
        self._mark_failures.clear()

    def set_mark_failure(self, uid: str, reason: str) -> bool:
        """Keep `uid` marked, as failed, with `reason`; False when `uid` isn't listed."""
        if uid not in self._keys:
            return False
        self._marks.setdefault(uid, None)
        self._mark_failures[uid] = reason
        return True

    # -- ordering ---------------------------------------------------------------------------

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
        keys = self._sorted_keys()
        query = self._query
        if query.empty:
            return list(keys)
        folded = self._folded
        if len(folded) != len(self._keys):
            for key in keys:
                if key.uid not in folded:
                    folded[key.uid] = SearchFields.of(key)
        matches, now = query.matches, self._now
        return [key for key in keys if matches(key, now, folded[key.uid])]


__all__ = ["Column", "KeyList"]
