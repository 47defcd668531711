"""The "Save your key" dialog: shows a new key's secret once, copies it, then forgets it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, ClassVar, Iterator

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static, TextArea

from oz_tui.core.models import CreatedKey
from oz_tui.core.display import quoted_name
from oz_tui.core.sanitize import safe_text
from oz_tui.tui.clipboard import (
    ClipboardClearer,
    ClipboardResult,
    copy_in_thread,
    forget_app_clipboard,
    secret_digest,
)
from oz_tui.tui.literal import literal
from oz_tui.tui.screens.dialog import DialogScreen
from oz_tui.tui.screens.secret import SecretScreen

CopySecret = Callable[[str], ClipboardResult]

WARNING = (
    "This is the only time the key is shown. Copy it now and store it somewhere safe, "
    "such as a secret manager: you can't see it again after closing this dialog."
)
HINT = (
    "Copy (c) sends the key to your terminal's clipboard (OSC 52). In tmux this needs "
    "`set -g set-clipboard on`. You can also select the key above with the mouse and press "
    "ctrl+c, or hold Shift while dragging to use your terminal's own selection. oz-keys can't "
    "clear a copy in the terminal's clipboard (OSC 52): clear it yourself once the key is stored."
)
CLOSE_UNSAVED_QUESTION = "You will not see this key again. Close anyway?"
QUIT_UNSAVED_QUESTION = (
    "You haven't copied the new key, and you will not see it again: it stays active until you "
    "delete it. Quit anyway?"
)
#: What a screenshot shows instead of each character of the secret.
CONCEALED_CHARACTER = "•"
#: The longest a key name is shown in this dialog (the table and delete dialog cut it too).
NAME_SHOWN_MAX = 120


def seconds_text(seconds: float) -> str:
    """45.0 -> "45 s", 0.5 -> "0.5 s"."""
    return f"{seconds:g} s"


def clear_note(seconds: float) -> str:
    """What the dialog says once a system copy has been scheduled for clearing."""
    return (
        f"The system clipboard will be cleared in {seconds_text(seconds)} (or when oz-keys "
        "quits, if sooner) if it still holds the key."
    )


def copy_toast(result: ClipboardResult, clear_after: float | None = None) -> str:
    """What a copy did, claiming no more than we know (a terminal never confirms OSC 52)."""
    if result.terminal and result.system:
        message = "Sent to your terminal's clipboard (OSC 52) and the system clipboard."
    elif result.terminal:
        message = (
            "Sent to your terminal's clipboard (OSC 52). If it doesn't arrive, "
            "see the hint in the dialog."
        )
    elif result.system:
        message = "Copied to the system clipboard."
    else:
        message = "Couldn't reach a clipboard: select the key and copy it by hand."
    if result.system_error:
        reason = safe_text(result.system_error, max_length=40)
        message += f" The system clipboard failed ({reason})."
    if result.system_skipped:
        message += f" The system clipboard was not used: {result.system_skipped}."
    if result.system and clear_after:
        message += f" It will be cleared from the system clipboard in {seconds_text(clear_after)}."
    return message


class CloseUnsavedKeyScreen(DialogScreen[bool]):
    """Asks before the key dialog closes (or the app quits) on a key that was never copied.

    True means go. `y` goes, `n` and Esc keep the dialog, and Enter presses the focused button,
    which is "Keep the key" (the same defaults as the delete confirmation).
    """

    AUTO_FOCUS = "#keep"

    BINDINGS: ClassVar[list[BindingType]] = [
        # One of the two "y" bindings is active (check_action), so the footer says what y does.
        Binding("y", "close_anyway", "Close anyway"),
        Binding("y", "quit_anyway", "Quit anyway"),
        Binding("n,escape", "dismiss(False)", "Keep the key"),
    ]

    DEFAULT_CSS = """
    CloseUnsavedKeyScreen > #dialog {
        width: 60;
        border: thick $warning;
        padding: 1 2 0 2;
    }
    """

    def __init__(self, *, quitting: bool = False) -> None:
        super().__init__()
        self.quitting = quitting

    def compose(self) -> ComposeResult:
        question = QUIT_UNSAVED_QUESTION if self.quitting else CLOSE_UNSAVED_QUESTION
        go = "Quit anyway" if self.quitting else "Close anyway"
        with Vertical(id="dialog"):
            yield Static(question, id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Keep the key", id="keep")
                yield Button(f"{go} (y)", id="discard", variant="warning")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_anyway":
            return not self.quitting
        if action == "quit_anyway":
            return self.quitting
        return True

    def action_close_anyway(self) -> None:
        self.dismiss(True)

    def action_quit_anyway(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#keep")
    def _keep(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#discard")
    def _discard(self) -> None:
        self.dismiss(True)


class ShowKeyScreen(SecretScreen[None]):
    """Shows a freshly created key's secret once. Dismisses with None.

    The secret lives only in this screen (`_created`) and in the read-only field while the
    dialog is open; closing wipes both. Any way out before the key was copied asks first: Esc,
    Done and Enter here, and quitting the app (`OzKeysApp.exit` calls `confirm_leave`).
    """

    AUTO_FOCUS = "#copy"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy key"),
        Binding("escape", "close", "Close"),
        # Reached when the key field has focus; on a button, Enter presses that button.
        Binding("enter", "close", "Done", show=False),
    ]

    DEFAULT_CSS = """
    ShowKeyScreen > #dialog {
        width: 84;
        border: thick $success;
    }
    ShowKeyScreen #title {
        padding: 1 0;
    }
    ShowKeyScreen #warning {
        color: $text-warning;
        margin-top: 1;
    }
    ShowKeyScreen #secret {
        height: auto;
        max-height: 5;
        margin-top: 1;
    }
    ShowKeyScreen .hint {
        color: $text-muted;
        margin-top: 1;
    }
    ShowKeyScreen #clear-note {
        color: $text-warning;
        margin-top: 1;
        display: none;
    }
    ShowKeyScreen #clear-note.-shown {
        display: block;
    }
    """

    def __init__(
        self,
        created: CreatedKey,
        *,
        copy: CopySecret | None = None,
        clearer: ClipboardClearer | None = None,
    ) -> None:
        """
        Args:
            created: The new key and its secret.
            copy: Copies the secret to the system clipboard, in a thread worker (tests inject
                one); default: `copy_to_system`. OSC 52 is always sent, by the screen.
            clearer: Clears a system copy later (it keeps only a hash of the key); None: never.
        """
        super().__init__()
        self._created: CreatedKey | None = created
        self._copy = copy
        self._clearer = clearer
        self._copied = False
        # A read-only TextArea: mouse users can select from it (and ctrl+c), it wraps a long
        # key on a narrow terminal, and keyboard users have the Copy button. The secret is
        # shown through safe_text so a hostile server can't smuggle terminal escapes in it.
        self._secret_field = TextArea(
            safe_text(created.raw_key),
            read_only=True,
            soft_wrap=True,
            show_line_numbers=False,
            highlight_cursor_line=False,
            id="secret",
        )

    def compose(self) -> ComposeResult:
        created = self._created
        assert created is not None
        with Vertical(id="dialog"):
            yield Static("Save your key", id="title", markup=False)
            yield Static(
                Text.assemble(
                    "Name: ",
                    literal(created.api_key.name, "bold", max_length=NAME_SHOWN_MAX),
                    "  ",
                    literal(created.api_key.masked),
                ),
                id="key-name",
            )
            yield Static(WARNING, id="warning", markup=False)
            yield self._secret_field
            yield Static(HINT, classes="hint", markup=False)
            yield Static("", id="clear-note", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Copy", id="copy", variant="primary")
                yield Button("Done", id="done")

    # -- copying --------------------------------------------------------------------------

    @on(Button.Pressed, "#copy")
    def _copy_from_button(self) -> None:
        self.action_copy()

    def action_copy(self) -> None:
        created = self._created
        if created is None:
            return
        # Only its digest and the key's name outlive this call: the system copy may end after
        # the dialog has closed, and must still schedule its clearing.
        digest = secret_digest(created.raw_key)
        name = quoted_name(created.api_key.name)
        app, clearer = self.app, self._clearer

        def done(result: ClipboardResult) -> None:
            clear_after: float | None = None
            if result.system and clearer is not None and clearer.schedule_digest(
                digest, label=f"The key {name}"
            ):
                clear_after = clearer.delay
                if self.is_mounted:
                    note = self.query_one("#clear-note", Static)
                    note.update(clear_note(clear_after))
                    note.add_class("-shown")
            app.notify(copy_toast(result, clear_after), title=name, markup=False)

        copy_in_thread(self, created.raw_key, done, copy=self._copy)
        self._copied = True  # OSC 52 is out (the system clipboard follows in a thread)
        self.query_one("#copy", Button).label = "Copied"
        self.query_one("#done", Button).focus()

    # -- closing --------------------------------------------------------------------------

    @on(Button.Pressed, "#done")
    def _done_from_button(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.secret_unsaved:
            self.confirm_leave(self._close, quitting=False)
        else:
            self._close()

    def _close(self) -> None:
        self._forget_secret()
        self.dismiss(None)

    # -- what the app asks of a screen holding a secret ---------------------------------------

    @property
    def secret_unsaved(self) -> bool:
        return self._created is not None and not (
            self._copied or self._app_clipboard_holds_secret()
        )

    def confirm_leave(self, leave: Callable[[], None], *, quitting: bool) -> None:
        if any(isinstance(screen, CloseUnsavedKeyScreen) for screen in self.app.screen_stack):
            return  # already asking

        def answered(go: bool | None) -> None:
            if go:
                leave()

        self.app.push_screen(CloseUnsavedKeyScreen(quitting=quitting), answered)

    @contextmanager
    def concealed(self) -> Iterator[None]:
        created = self._created
        if created is None:
            yield
            return
        shown = safe_text(created.raw_key)
        selection = self._secret_field.selection
        # The same number of characters: the field wraps and sizes exactly as it does now.
        self._secret_field.load_text(CONCEALED_CHARACTER * len(shown))
        try:
            yield
        finally:
            if self._created is not None:
                self._secret_field.load_text(shown)
                self._secret_field.selection = selection

    def forget_secret(self) -> None:
        self._forget_secret()

    def on_unmount(self) -> None:
        # However the screen goes (Done, app exit, someone popping it), the secret goes too.
        self._forget_secret()

    def _app_clipboard_holds_secret(self) -> bool:
        # True when the user copied by hand (select + ctrl+c in the field).
        created = self._created
        return created is not None and self.app.clipboard in _secret_forms(created)

    def _forget_secret(self) -> None:
        created, self._created = self._created, None
        if created is None:
            return
        # load_text (not clear()) also empties the undo history, which would keep the old text.
        self._secret_field.load_text("")
        if self.app.clipboard in _secret_forms(created):
            forget_app_clipboard(self.app)


def _secret_forms(created: CreatedKey) -> set[str]:
    """The secret as copied by Copy (raw) and as selectable from the field (sanitised)."""
    return {form for form in (created.raw_key, safe_text(created.raw_key)) if form}
