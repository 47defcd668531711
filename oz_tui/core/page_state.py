"""What the keys page is showing, as one value: the page's parts (table, sign-in panel, status
line, Create button, footer) are drawn from it, not set one by one where things happen."""

from __future__ import annotations

import enum


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
