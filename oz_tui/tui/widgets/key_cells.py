"""What one row of the key table says: each cell's text and style.

`cell_strings` gives a row's plain text (sanitised names, relative or exact times, the "soon" and
"expired" words); `key_cells` / `cells_from_strings` turn it into Rich `Text`. Every untrusted
string goes through `literal()`: never parsed as markup, never able to emit escapes.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from typing import NamedTuple

from rich.cells import cell_len
from rich.text import Text

from oz_tui.core.models import ApiKey
from oz_tui.core.display import date_label, expiring_soon, relative_time, scope_label
from oz_tui.core.sanitize import safe_text
from oz_tui.tui.literal import literal

#: Names longer than this are cut (with an ellipsis) so one long name can't push the other
#: columns off screen. The full name is in the delete confirmation.
NAME_MAX = 32
SOON_WORD = "soon"
EXPIRED_WORD = "expired"
DELETE_LABEL = "Delete"
UID_LABEL = "Uid"
#: The marks column: a marked row, and a marked row whose delete failed.
MARK = "●"
MARK_FAILED = "!"


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


def expires_words(
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


def clean(text: str) -> str:
    """`safe_text`, fast: printable ASCII comes back unchanged from it (a documented property
    of `safe_text`, checked in tests/tui/test_key_table.py), anything else is remembered."""
    if text.isascii() and text.isprintable():
        return text
    return _clean_cached(text)


@functools.lru_cache(maxsize=32768)
def _clean_cached(text: str) -> str:
    # A rebuild sanitises every name again, and names rarely change.
    return safe_text(text)


def cut_width(clean_name: str, name_max: int) -> int:
    """The width of a (sanitised) name as shown when cut to `name_max` characters."""
    if len(clean_name) <= name_max:
        return cell_len(clean_name)
    return cell_len(clean_name[: max(name_max - 1, 0)] + "…")


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
        clean(key.name),
        clean(key.masked),
        scope_label(key) if agent_names else key.scope.value,
        relative_time(key.created_at, now),
        relative_time(key.last_used_at, now),
        expires_words(key, now, compact=False, exact=exact)[0],
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
        expires_words(key, now, compact=True, exact=exact)[0],
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
    state = expires_words(key, now, compact=compact)[1]
    return cells_from_strings(
        key, strings, state, styles, name_max=name_max, action=action, uid=uid
    )


def cells_from_strings(
    key: ApiKey,
    strings: tuple[str, ...],
    state: str | None,
    styles: CellStyles,
    *,
    name_max: int,
    action: bool,
    uid: bool = False,
) -> tuple[Text, ...]:
    """`key_cells` from a row's `cell_strings` and its expiry's state word, already known."""
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


_NO_MARK = Text(" ")


def mark_cell(marked: bool, failure: str | None, styles: CellStyles) -> Text:
    """The marks column's cell: blank, marked, or marked with a failed delete."""
    if not marked:
        return _NO_MARK
    if failure is not None:
        return Text(MARK_FAILED, style=styles.mark_failed)
    return Text(MARK, style=styles.mark)


__all__ = [
    "DELETE_LABEL",
    "EXPIRED_WORD",
    "MARK",
    "MARK_FAILED",
    "NAME_MAX",
    "SOON_WORD",
    "UID_LABEL",
    "CellStyles",
    "cell_strings",
    "cells_from_strings",
    "clean",
    "compact_strings",
    "cut_width",
    "exact_time",
    "expires_words",
    "key_cells",
    "mark_cell",
    "short_relative_time",
]
