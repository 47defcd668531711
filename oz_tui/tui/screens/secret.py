"""What the app asks of a dialog that shows a secret (a new key, shown once).

The app, not each dialog's bindings, enforces the show-once promise on every way out: its exit
path asks the dialog first (`confirm_leave`), its screenshots render the dialog concealed
(`concealed`), and a signal that ends the session wipes it (`forget_secret`). Any dialog that
shows a secret subclasses `SecretScreen`; the app finds them on its screen stack. Light on
purpose: the app imports this at start, the dialogs themselves load on first use.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable, TypeVar

from oz_tui.tui.screens.dialog import DialogScreen

ResultType = TypeVar("ResultType")


class SecretScreen(DialogScreen[ResultType]):
    """A dialog holding a secret. Subclasses implement the four hooks below."""

    @property
    def secret_unsaved(self) -> bool:
        """True while the secret is on screen and was never copied: leaving must ask first."""
        raise NotImplementedError

    def confirm_leave(self, leave: Callable[[], None], *, quitting: bool) -> None:
        """Ask (y/n) whether to give up the unsaved secret; call `leave()` on yes."""
        raise NotImplementedError

    def concealed(self) -> AbstractContextManager[None]:
        """While inside, the screen draws the secret blanked (for screenshots)."""
        raise NotImplementedError

    def forget_secret(self) -> None:
        """Drop the secret from the screen and memory at once (the session is ending)."""
        raise NotImplementedError
