"""The keys page's actions and status line follow from its state (oz_tui/core/page_state.py),
without Textual."""

from __future__ import annotations

import dataclasses

import pytest

from oz_tui.core.page_state import (
    FOOTER_MARK_MIN_WIDTH,
    LIST_ACTIONS,
    STATE_SUMMARY,
    PageState,
    PageView,
    list_summary,
    offered,
)

READY = PageView(state=PageState.READY, search_focused=False, searching=False, waiting=False,
                 width=120, marked=False, highlighted=True)


@pytest.mark.parametrize("state", [PageState.REFUSED, PageState.SIGNED_OUT])
def test_without_a_list_its_actions_show_disabled(state: PageState) -> None:
    view = dataclasses.replace(READY, state=state)
    assert all(offered(action, (), view) is None for action in LIST_ACTIONS - {"clear_search"})
    assert offered("help", (), view) and offered("quit", (), view)


def test_refresh_is_hidden_once_signed_out_and_offered_when_refused() -> None:
    assert offered("refresh", (), dataclasses.replace(READY, state=PageState.SIGNED_OUT)) is False
    assert offered("refresh", (), dataclasses.replace(READY, state=PageState.REFUSED)) is True


@pytest.mark.parametrize("state", [PageState.LOADING, PageState.READY, PageState.FAILED])
def test_with_a_list_create_and_search_are_offered(state: PageState) -> None:
    view = dataclasses.replace(READY, state=state)
    assert offered("create", (), view) is True and offered("search", (), view) is True


def test_typing_in_the_search_box_hides_the_letter_keys_and_offers_its_escapes() -> None:
    view = dataclasses.replace(READY, search_focused=True, searching=True, waiting=True)
    assert offered("create", (), view) is False and offered("quit", (), view) is False
    assert offered("leave_search", (), view) and offered("clear_search", (), view)
    assert offered("stop_waiting", (), view) is False  # Esc leaves the box first


def test_escape_stops_waiting_before_it_clears_the_search() -> None:
    view = dataclasses.replace(READY, searching=True, waiting=True)
    assert offered("stop_waiting", (), view) and offered("clear_search", (), view) is False


def test_the_listed_mark_needs_room_in_the_footer_the_key_still_works() -> None:
    narrow = dataclasses.replace(READY, width=FOOTER_MARK_MIN_WIDTH - 1)
    assert offered("toggle_mark", (), narrow) is False
    assert offered("toggle_mark", (False,), narrow) is True


def test_delete_and_rotate_need_a_key_to_act_on() -> None:
    nothing = dataclasses.replace(READY, highlighted=False)
    assert offered("delete", (), nothing) is None and offered("rotate", (), nothing) is None
    assert offered("delete", (), dataclasses.replace(nothing, marked=True)) is True


def test_the_status_line_says_the_state_or_counts_the_list() -> None:
    assert STATE_SUMMARY[PageState.SIGNED_OUT] == "Signed out"
    assert list_summary(12, 3, filtered=True, marked=2, failed=1, deleting=True,
                        refreshing=False) == "Deleting… · 3 of 12 keys · 2 marked (1 failed)"
    assert list_summary(1, 1, filtered=False, marked=0, failed=0, deleting=False,
                        refreshing=False) == "1 key"
    assert list_summary(5, 5, filtered=False, marked=0, failed=0, deleting=False,
                        refreshing=True) == "Refreshing…"
