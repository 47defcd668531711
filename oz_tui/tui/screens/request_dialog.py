"""The part the create and rotate dialogs share: a submit button that creates a key in a worker.

While the request is in flight the submit button is disabled and relabelled, and Cancel becomes
"Stop waiting" (a hung server can't trap the user). A failure stays inside the dialog, in a
bordered `#failure` box, with the form as it was and focus where Enter tries again. Success
dismisses the dialog with the request's result, as soon as the dialog is on top again (a
command palette opened over it is not what gets dismissed).
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, ClassVar, TypeVar

from rich.text import Text
from textual import events, on
from textual.widgets import Button, Static

from oz_tui.core.errors import OzError
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.dialog import DialogScreen

ResultType = TypeVar("ResultType")

MAY_HAVE_SUCCEEDED = (
    "The key may have been created anyway: refresh the list to check before trying again."
)
STOPPED_WAITING = (
    "Stopped waiting for the server. The key may have been created: refresh the list to check "
    "before trying again."
)
#: The Cancel button while a create is in flight: it stops waiting (the outcome is then unknown).
STOP_LABEL = "Stop waiting"


def failure_text(error: Exception) -> Text:
    """What the dialog says when create fails: the error's own words, shown literally."""
    if isinstance(error, OzError):
        text = literal(error.message, max_length=500)
        if error.may_have_succeeded:
            text.append(" " + MAY_HAVE_SUCCEEDED)
        return text
    # Not one of ours: name its type only (its text is unknown) and assume the worst.
    return Text(f"Couldn't create the key ({type(error).__name__}). " + MAY_HAVE_SUCCEEDED)


class RequestDialog(DialogScreen[ResultType | None]):
    """A dialog that creates a key on submit. Dismisses with the request's result, or None when
    cancelled.

    Subclasses compose a `#cancel` button, a submit button (`SUBMIT_ID`) and an empty
    `Static(id="failure")`, call `send()` on submit, and say when the form can be submitted.
    """

    #: The submit button's id, its label, and its label while the request is in flight.
    SUBMIT_ID: ClassVar[str]
    SUBMIT_LABEL: ClassVar[str]
    PENDING_LABEL: ClassVar[str]
    #: What takes focus after a failure (and after Stop waiting), so that Enter tries again.
    RETRY_FOCUS: ClassVar[str]
    #: The request's worker (and worker group) name.
    WORKER_GROUP: ClassVar[str]

    DEFAULT_CSS = """
    RequestDialog #failure {
        color: $text-error;
        border: round $error;
        padding: 0 1;
        margin-top: 1;
        display: none;
    }
    RequestDialog #failure.-shown {
        display: block;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending = False
        #: The request's result while something (a command palette) sits above the dialog.
        self._done: tuple[ResultType] | None = None

    @property
    def pending(self) -> bool:
        """True while the request is in flight."""
        return self._pending

    def can_submit(self) -> bool:
        """Whether the form, as filled in, can be sent (the request in flight aside)."""
        return True

    # -- sending --------------------------------------------------------------------------

    def send(self, request: Callable[[], Awaitable[ResultType]]) -> None:
        """Run `request()` in a worker; the dialog dismisses with its result once it is done."""
        self._set_pending(True)
        self.show_failure(None)
        self.run_worker(
            self._await(request),
            name=self.WORKER_GROUP,
            group=self.WORKER_GROUP,
            exit_on_error=False,
        )

    async def _await(self, request: Callable[[], Awaitable[ResultType]]) -> None:
        try:
            result = await request()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - shown in the dialog, never as a traceback
            self._set_pending(False)
            self.show_failure(self.failure_text(error))
            self._focus_retry()
            return
        self._done = (result,)
        self._dismiss_when_on_top()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Whatever sat above the dialog when the request answered has closed.
        self._dismiss_when_on_top()

    def _dismiss_when_on_top(self) -> None:
        # dismiss pops the top screen: wait for the dialog to be that screen again.
        if self._done is None or not self.is_active:
            return
        # The result (it holds the new key's secret) goes straight to the caller; this screen
        # keeps no reference to it.
        (result,), self._done = self._done, None
        self.dismiss(result)

    def failure_text(self, error: Exception) -> Text:
        """What the dialog says when the request fails."""
        return failure_text(error)

    # -- cancelling -----------------------------------------------------------------------

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        if self._pending:
            self.stop_waiting()
            return
        self.dismiss(None)

    def stop_waiting(self) -> None:
        """Give up on the request in flight: the form stays, and says the outcome is unknown.

        The request may have reached the server, so the key may exist (its secret is then lost:
        the user deletes it and creates another). A second Esc closes the dialog.
        """
        if not self._pending:
            return
        self.workers.cancel_group(self, self.WORKER_GROUP)
        self._set_pending(False)
        self.show_failure(Text(STOPPED_WAITING))
        self._focus_retry()

    # -- the dialog's state on screen --------------------------------------------------------

    def _set_pending(self, pending: bool) -> None:
        self._pending = pending
        self.query_one(self.SUBMIT_ID, Button).label = (
            self.PENDING_LABEL if pending else self.SUBMIT_LABEL
        )
        self.sync_submit_button()
        # Cancel stays live: while waiting it stops waiting.
        self.query_one("#cancel", Button).label = STOP_LABEL if pending else "Cancel"

    def sync_submit_button(self) -> None:
        """Enable the submit button exactly when the form can be sent."""
        self.query_one(self.SUBMIT_ID, Button).disabled = self._pending or not self.can_submit()

    def show_failure(self, text: Text | None) -> None:
        """Say why the request failed (or can't be sent) in the failure box; None hides it."""
        failure = self.query_one("#failure", Static)
        failure.update(text if text is not None else "")
        failure.set_class(text is not None, "-shown")

    def _focus_retry(self) -> None:
        # The submit button was disabled while waiting, so focus moved on (to Cancel): move it
        # where Enter submits again, or the next Enter would cancel instead of trying again.
        # A fast failure can come back within the button's press animation, during which
        # Button ignores Enter: end the animation, so an immediate retry is a retry.
        self.query_one(self.SUBMIT_ID, Button).remove_class("-active")
        target = self.query_one(self.RETRY_FOCUS)
        if not target.disabled:
            target.focus()
