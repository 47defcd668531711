"""What the keys page is showing, as one value: the page's parts (table, sign-in panel, status
line, Create button, footer) are drawn from it, not set one by one where things happen."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PageState(enum.Enum):
    """Where the page is. Network requests in flight, marks and the search come on top."""

    #: The first list is in flight: nothing to show yet.
    LOADING = "loading"
    #: A list is shown (perhaps an older one, under a banner saying a refresh failed).
    READY = "ready"
    #: The first list failed, or the user stopped waiting for it: the banner says so (retry).
    FAILED = "failed"
    #: The server refused the credential: the sign-in panel replaces the table.
    REFUSED = "refused"
    #: The key the panel signs in with was deleted here: nothing can be loaded any more.
    SIGNED_OUT = "signed out"

    @property
    def offers_keys(self) -> bool:
        """Whether the key list (and what acts on it) is on the page."""
        return self not in (PageState.REFUSED, PageState.SIGNED_OUT)


#: What the status line says in a state that has no list to count.
STATE_SUMMARY = {
    PageState.LOADING: "Loading…",
    PageState.REFUSED: "Not signed in",
    PageState.SIGNED_OUT: "Signed out",
}


def list_summary(
    total: int, shown: int, *, filtered: bool, marked: int, failed: int, deleting: bool,
    refreshing: bool,
) -> str:
    """The status line's count: "3 of 12 keys · 2 marked (1 failed)", "Deleting… · 12 keys"."""
    if refreshing:
        return "Refreshing…"
    noun = "key" if total == 1 else "keys"
    summary = f"{shown} of {total} {noun}" if filtered else f"{total} {noun}"
    if marked:
        summary += f" · {marked} marked"
        if failed:
            summary += f" ({failed} failed)"
    if deleting:
        summary = f"Deleting… · {summary}"
    return summary


@dataclass(frozen=True)
class PageView:
    """What decides which of the page's actions are offered: its state and what is on it."""

    state: PageState
    search_focused: bool
    #: The search box holds text.
    searching: bool
    #: A list, who-am-I or delete request is in flight.
    waiting: bool
    width: int
    marked: bool
    highlighted: bool


#: Actions that need the key list (not offered while the credential is refused).
LIST_ACTIONS = frozenset(
    {
        "create", "delete", "rotate", "search", "cycle_sort", "reverse_sort", "clear_search",
        "toggle_mark", "mark_visible", "clear_marks",
    }
)
#: Below this width the footer has no room to list Space (Mark); the key still works.
FOOTER_MARK_MIN_WIDTH = 100
#: Single-key bindings, hidden from the footer while the search box has focus (the box takes
#: those keys as text anyway).
LETTER_ACTIONS = frozenset(
    {
        "create", "delete", "rotate", "search", "refresh", "cycle_sort", "reverse_sort", "help",
        "quit", "toggle_mark", "mark_visible", "clear_marks",
    }
)


def offered(action: str, parameters: tuple[object, ...], view: PageView) -> bool | None:
    """Textual's `check_action` for the page: True offers `action`, False hides it, None shows
    it disabled."""
    if action == "leave_search":
        return view.search_focused
    if action == "stop_waiting":
        return not view.search_focused and view.waiting
    if action == "toggle_mark" and not parameters:
        # The listed Space: only where the footer has room for it.
        if view.width < FOOTER_MARK_MIN_WIDTH:
            return False
    if action == "clear_search":
        if not view.searching:
            return False
        # Esc stops waiting first; ctrl+u clears whatever has focus.
        return True if view.search_focused else not view.waiting
    if view.search_focused and action in LETTER_ACTIONS:
        return False
    if action == "refresh" and view.state is PageState.SIGNED_OUT:
        return False  # nothing to refresh with: the page says how to start again
    if action in LIST_ACTIONS and not view.state.offers_keys:
        return None
    if action == "delete" and not view.marked and not view.highlighted:
        return None
    if action == "rotate" and not view.highlighted:
        return None
    return True
