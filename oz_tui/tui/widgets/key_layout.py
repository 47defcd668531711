"""How wide the key table's columns are, and which layout fits the terminal.

Layouts, widest first: the uid and exact expiry times (wide terminals), full, compact (short
relative times), compact without the Delete column; names are cut only when none of these fits
them. Every header keeps room for the sort arrow, so sorting never changes the layout.

`LayoutEngine` remembers each key's cell text and widths per clock tick, and the column maxima
per set of visible keys, so a filter, a sort or a resize over 10,000 keys costs milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from rich.cells import cell_len

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.key_list import Column
from oz_tui.core.display import date_label, expiring_soon
from oz_tui.tui.widgets.key_cells import (
    DELETE_LABEL,
    EXPIRED_WORD,
    NAME_MAX,
    SOON_WORD,
    UID_LABEL,
    cell_strings,
    clean,
    compact_strings,
    cut_width,
    exact_time,
)

#: Names are never cut shorter than this; below it the table goes compact, then scrolls.
NAME_MIN = 12
#: Every header is drawn this much wider than its label: room for " ▲" whatever the sort.
_ARROW_ROOM = 2
#: The narrow mode is worded as the compact one (it only leaves agents' names out).
_HEADER_MODE = {"narrow": "compact"}
_HEADER_LABELS = {
    (Column.LAST_USED, "compact"): "Used",
    (Column.EXPIRES, "compact"): "Expires",
    (Column.EXPIRES, "wide"): "Expires at (UTC)",
}


def header_label(column: Column, mode: str) -> str:
    """The header as the table's mode ("full", "compact", "narrow", "wide") words it."""
    return _HEADER_LABELS.get((column, _HEADER_MODE.get(mode, mode)), column.label)


Mode = str  # "full", "compact", "narrow" or "wide": how a row's cell strings are written
MODES: tuple[Mode, ...] = ("full", "compact", "narrow", "wide")


class Layout(NamedTuple):
    compact: bool
    name_max: int
    action: bool
    #: Wide terminals: the uid column, and expiry times to the minute.
    wide: bool = False
    #: Agent keys' Scope names the agent ("Agent · deploy-bot"), or (narrowest) just "Agent".
    agent_names: bool = True

    @property
    def mode(self) -> Mode:
        if self.wide:
            return "wide"
        if self.compact:
            return "compact" if self.agent_names else "narrow"
        return "full"


#: The Scope column's width when agents' names are left out (the narrow mode).
_SCOPE_WORD_WIDTH = max(cell_len(scope.value) for scope in KeyScope)
_SCOPE_INDEX = list(Column).index(Column.SCOPE)
#: Where the time columns (Created, Last used, Expires) start: all that compact changes.
_TIMES_INDEX = list(Column).index(Column.CREATED)
#: Indices into a key's remembered widths, after the six data columns.
_NAME_LENGTH = len(Column)
_UID_WIDTH = len(Column) + 1
DEFAULT_LAYOUT = Layout(compact=False, name_max=NAME_MAX, action=True)
#: The layouts tried, widest first, each only if every name fits uncut (up to NAME_MAX): the
#: Delete column goes first (d and the details dialog delete too), then the full times, then
#: agents' names.
_LAYOUTS = (
    Layout(compact=False, name_max=NAME_MAX, action=True, wide=True),
    Layout(compact=False, name_max=NAME_MAX, action=False, wide=True),
    DEFAULT_LAYOUT,
    Layout(compact=False, name_max=NAME_MAX, action=False),
    Layout(compact=True, name_max=NAME_MAX, action=False),
    Layout(compact=True, name_max=NAME_MAX, action=False, agent_names=False),
)


def header_widths(mode: Mode) -> list[int]:
    """The headers' widths: the same whichever column is sorted (room for the arrow)."""
    return [cell_len(header_label(column, mode)) + _ARROW_ROOM for column in Column]


class LayoutEngine:
    """Cell text and column widths of the keys, remembered; the layout that fits a width.

    Tell it when what it remembers goes stale: `reset` (new keys or a new clock tick),
    `forget` (one key changed), `view_changed` (another set of keys is visible).
    """

    def __init__(self, now: datetime) -> None:
        self._now = now
        #: Per key (by uid) and mode, for `_now`: the cell strings and their widths.
        self._strings: dict[Mode, dict[str, tuple[str, ...]]] = {mode: {} for mode in MODES}
        self._widths: dict[Mode, dict[str, tuple[int, ...]]] = {mode: {} for mode in MODES}
        #: Column maxima of the visible keys' widths, per mode, and of the names as cut, per
        #: (mode, name_max). They hold while the set of visible keys and the clock stay the
        #: same (a sort changes neither); `_view` counts the changes.
        self._view = 0
        self._maxima_view = -1
        self._maxima: dict[Mode, list[int]] = {}
        self._cut_maxima: dict[tuple[Mode, int], int] = {}

    def reset(self, now: datetime) -> None:
        """Forget every key's text: the keys or the clock changed."""
        self._now = now
        self._strings = {mode: {} for mode in MODES}
        self._widths = {mode: {} for mode in MODES}
        self._view += 1

    def forget(self, uid: str) -> None:
        """Forget one key's text (added, replaced or removed)."""
        for mode in MODES:
            self._strings[mode].pop(uid, None)
            self._widths[mode].pop(uid, None)
        self._view += 1

    def view_changed(self) -> None:
        """Another set of keys is visible (a search): the column maxima go stale."""
        self._view += 1

    def cell_texts(self, key: ApiKey, mode: Mode) -> tuple[str, ...]:
        """`cell_strings` of `key` as `mode` writes them, remembered."""
        if mode == "narrow":
            # The compact strings, the scope without the agent's name.
            strings = self.cell_texts(key, "compact")
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

    def column_widths(self, keys: list[ApiKey], mode: Mode) -> list[int]:
        """Per data column, the widest cell of the visible `keys` (names uncut), then the
        longest name in characters, then the widest uid. Each key's widths are computed once
        per clock tick; the maxima once per set of visible keys."""
        self._check_view()
        maxima = self._maxima.get(mode)
        if maxima is None and mode == "narrow":
            # As the compact layout, with the Scope column no wider than its words.
            maxima = list(self.column_widths(keys, "compact"))
            maxima[_SCOPE_INDEX] = min(maxima[_SCOPE_INDEX], _SCOPE_WORD_WIDTH)
            self._maxima[mode] = maxima
        elif maxima is None and mode == "wide":
            # As the full layout, but for the expiry (to the minute): worked out from the
            # keys' dates instead of writing every key's cells again.
            maxima = list(self.column_widths(keys, "full"))
            maxima[len(Column) - 1] = self._exact_expires_width(keys)
            self._maxima[mode] = maxima
        elif maxima is None:
            known = self._widths[mode]
            missing = [key for key in keys if key.uid not in known]
            if missing:
                texts = self.cell_texts
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
                        cell_len(clean(key.uid)),
                    )
            rows = [known[key.uid] for key in keys]
            count = _UID_WIDTH + 1
            if rows:
                maxima = [max(map(itemgetter(index), rows)) for index in range(count)]
            else:
                maxima = [0] * count
            self._maxima[mode] = maxima
        return maxima

    def widths(self, keys: list[ApiKey], layout: Layout) -> tuple[list[int], int]:
        """The data columns' widths as drawn in `layout` (the name column as wide as the
        widest name as shown), and the uid column's."""
        heads = header_widths(layout.mode)
        maxima = self.column_widths(keys, layout.mode)
        widths = [max(pair) for pair in zip(heads, maxima)]
        if keys and maxima[_NAME_LENGTH] > layout.name_max:
            # Some names are cut: the column is as wide as the widest name *as shown*.
            widths[0] = max(heads[0], self._cut_name_width(keys, layout.mode, layout.name_max))
        return widths, max(cell_len(UID_LABEL), maxima[_UID_WIDTH])

    def choose(
        self, keys: list[ApiKey], width: int, height: int, *, scrollbar: int, pad: int
    ) -> Layout:
        """The widest layout (`_LAYOUTS`) in which every name fits uncut (up to NAME_MAX) in
        `width` cells (less `scrollbar` when the rows are taller than `height`), each column
        padded `pad` cells; failing that, compact without the Delete column, names cut to the
        room left but not below NAME_MIN. The sort plays no part, so sorting never moves a
        column."""
        if width <= 0 or not keys:
            return DEFAULT_LAYOUT
        if len(keys) + 1 > height:
            width -= scrollbar
        room = 0
        for layout in _LAYOUTS:
            maxima = self.column_widths(keys, layout.mode)
            widths = [max(pair) for pair in zip(header_widths(layout.mode), maxima)]
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
        return Layout(
            compact=True,
            name_max=min(NAME_MAX, max(room, NAME_MIN)),
            action=False,
            agent_names=False,
        )

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

    def _cut_name_width(self, keys: list[ApiKey], mode: Mode, name_max: int) -> int:
        """The widest name of the visible `keys` as shown, cut to `name_max` characters."""
        self._check_view()
        width = self._cut_maxima.get((mode, name_max))
        if width is None:
            width = max((cut_width(clean(key.name), name_max) for key in keys), default=0)
            self._cut_maxima[mode, name_max] = width
        return width

    def _check_view(self) -> None:
        if self._maxima_view != self._view:
            self._maxima_view = self._view
            self._maxima = {}
            self._cut_maxima = {}


__all__ = ["DEFAULT_LAYOUT", "MODES", "NAME_MIN", "Layout", "LayoutEngine", "Mode"]
