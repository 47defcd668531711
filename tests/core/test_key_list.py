"""`KeyList`, the key table's state, without a screen: what a search and a sort show, and the
marks, as the table reads them (the drawn table is tests/tui/test_key_table.py)."""

from __future__ import annotations

from datetime import timedelta

from oz_tui.core.models import ApiKey, KeyScope
from oz_tui.core.key_list import Column, KeyList

from determinism import FIXED_NOW

NOW = FIXED_NOW


def key(uid: str, name: str, days_old: int, expires_in: int | None = None) -> ApiKey:
    return ApiKey(
        uid=uid,
        name=name,
        key_suffix=uid[-4:],
        scope=KeyScope.PERSONAL,
        created_at=NOW - timedelta(days=days_old),
        expires_at=None if expires_in is None else NOW + timedelta(days=expires_in),
    )


KEYS = [
    key("uid-0001", "beta", 3, expires_in=2),
    key("uid-0002", "Alpha", 1),
    key("uid-0003", "gamma", 9, expires_in=60),
]


def names(keys: list[ApiKey]) -> list[str]:
    return [k.name for k in keys]


def test_newest_first_then_each_column_in_its_natural_order() -> None:
    model = KeyList()
    model.set_keys(KEYS, NOW)
    assert names(model.update_view()) == ["Alpha", "beta", "gamma"]  # newest first
    model.sort_by(Column.NAME)
    assert names(model.update_view()) == ["Alpha", "beta", "gamma"]
    model.sort_by(Column.NAME, reverse=True)
    assert names(model.update_view()) == ["gamma", "beta", "Alpha"]
    assert model.descending(Column.NAME) and not model.descending(Column.KEY)
    model.sort_by(Column.EXPIRES)  # soonest first, never last
    assert names(model.update_view()) == ["beta", "gamma", "Alpha"]
    assert model.next_column() is Column.NAME  # round


def test_the_view_changes_only_when_asked_and_the_search_keeps_the_sort() -> None:
    model = KeyList()
    model.set_keys(KEYS, NOW)
    model.update_view()
    assert model.set_filter("  a ") and not model.set_filter("a")
    assert len(model.visible) == 3  # still the last view: the table reads it first
    model.sort_by(Column.NAME, reverse=True)
    assert names(model.update_view()) == ["gamma", "beta", "Alpha"]
    assert model.set_filter("expires:<7d") and model.time_dependent
    assert names(model.update_view()) == ["beta"]
    assert model.row_of("uid-0001") == 0 and model.row_of("uid-0002") is None
    assert model.set_filter("expires:<zz") and model.search_hint


def test_marks_stay_on_listed_keys_and_a_failure_stays_marked() -> None:
    model = KeyList()
    model.set_keys(KEYS, NOW)
    model.update_view()
    assert model.toggle_mark("uid-0001") and not model.toggle_mark("nope")
    assert model.set_mark_failure("uid-0003", "refused")
    assert [k.uid for k in model.marked_keys] == ["uid-0001", "uid-0003"]
    assert model.mark_failures == {"uid-0003": "refused"}
    model.set_keys(KEYS[1:], NOW)  # uid-0001 is gone
    assert [k.uid for k in model.marked_keys] == ["uid-0003"]
    assert model.remove("uid-0003") and not model.remove("uid-0003")
    assert model.marked_keys == () and model.mark_failures == {}
    model.update_view()
    model.mark_visible()
    assert {k.uid for k in model.marked_keys} == {"uid-0002"}
