"""Copy a freshly created secret to every clipboard we can reach, without ever logging it.

Two routes, because neither is enough on its own:

* OSC 52 (`App.copy_to_clipboard`): the terminal puts the text on *its* clipboard. This is the
  only route that works over SSH, but the terminal may ignore it (tmux needs
  `set -g set-clipboard on`; some terminals disable it) and gives no answer, so we can only say
  the text was *sent*.
* pyperclip: the local system clipboard, when this process can reach one (macOS pbcopy, Windows,
  WSL, wl-copy under Wayland, xclip/xsel under X11). Its absence is normal (SSH, containers,
  CI) and not an error. Only back ends that take the text on stdin or through an API are used
  (`STDIN_OR_API_COPIERS`): pyperclip's KDE one runs `qdbus … setClipboardContents <text>`,
  which puts the key on a command line any local user can read with `ps`, so there the system
  clipboard is skipped and the dialog says why.

After a system copy, `ClipboardClearer` empties the system clipboard after a while (45 s unless
configured, and at the latest when the app quits) if it still holds the key. It keeps only the
key's SHA-256, never the key: at clearing time it pastes, hashes and compares. An OSC 52 copy can't
be cleared: the app can't read the terminal's clipboard back, and overwriting it blindly could
destroy something the user copied since.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, TypeVar

from textual.app import App
from textual.timer import Timer

if TYPE_CHECKING:
    from textual.screen import Screen

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The longest a copy waits for the system clipboard. pyperclip shells out (xclip, wl-copy,
#: pbcopy) and a wedged helper can block forever; the copy waits this long in a daemon thread
#: and then reports "timed out" (so the thread worker running it always ends, and never holds up
#: exit). Waiting a moment (rather than fire-and-forget) lets the toast tell the truth.
SYSTEM_CLIPBOARD_TIMEOUT = 0.75


class ClipboardResult(NamedTuple):
    """Where a copy went. `system_error` is set only when a system clipboard exists and failed;
    `system_skipped` says why one that exists was not used."""

    terminal: bool
    system: bool
    system_error: str | None = None
    system_skipped: str | None = None


SystemCopier = Callable[[str], None]
SystemPaster = Callable[[], str]

#: pyperclip's copy functions (by name) that hand the text over on stdin or through an API,
#: checked against pyperclip 1.11. Any other, and any new one, is not trusted with a key.
STDIN_OR_API_COPIERS = frozenset({
    "copy_osx_pbcopy",  # pbcopy, stdin
    "copy_osx_pyobjc",  # AppKit
    "copy_qt",  # Qt's clipboard API
    "copy_xclip",  # xclip, stdin
    "copy_xsel",  # xsel, stdin
    "copy_wl",  # wl-copy, stdin
    "copy_windows",  # the Win32 API
    "copy_wsl",  # clip.exe, stdin
    "copy_dev_clipboard",  # Cygwin's /dev/clipboard, a file
})
#: Why the system clipboard was not used, for the dialog's toast.
UNSAFE_CLIPBOARD = (
    "this system clipboard's helper takes the text on its command line, where other users "
    "could read it"
)


def copy_in_thread(
    screen: Screen[Any],
    text: str,
    done: Callable[[ClipboardResult], None],
    *,
    copy: Callable[[str], ClipboardResult] | None = None,
) -> None:
    """Copy `text` without blocking the UI: to the terminal's clipboard now (OSC 52, a write to
    the terminal, on the event loop), and to the system clipboard in a thread worker of `screen`
    (`copy`, default `copy_to_system`, shells out). `done(result)` then runs on the event loop,
    even if `screen` has closed meanwhile (a later clear must still be scheduled)."""
    screen.app.copy_to_clipboard(text)
    loop = asyncio.get_running_loop()
    # `done` runs in the loop's context (Textual finds its app there), not the thread's.
    context = contextvars.copy_context()
    copy_system = copy or copy_to_system

    def work() -> None:
        try:
            result = copy_system(text)
        except Exception as error:  # noqa: BLE001 - reported by type, never raised into the UI
            result = ClipboardResult(terminal=True, system=False,
                                     system_error=type(error).__name__)
        try:
            loop.call_soon_threadsafe(done, result, context=context)
        except RuntimeError:
            pass  # the loop has closed: the session is over, nothing to tell

    screen.run_worker(work, thread=True, name="oz-keys clipboard copy", group="clipboard-copy",
                      exit_on_error=False)


def forget_app_clipboard(app: App[Any]) -> None:
    """Empty the app's in-process mirror of the last copy (`app.clipboard`), leaving the
    terminal's and the system clipboard alone.

    Textual keeps the last copy in the app so in-app paste works; left alone it would keep a
    key in this process for the rest of the session. Textual has no public way to empty only
    the mirror (`copy_to_clipboard("")` would also wipe the terminal's clipboard, the copy the
    user asked for), so this sets its private `App._clipboard`, the one place the panel does.
    tests/tui/test_textual_seams.py fails loudly if Textual changes under it.
    """
    app._clipboard = ""


def copy_to_system(text: str) -> ClipboardResult:
    """Send `text` to the system clipboard (when one exists); OSC 52 is assumed sent.

    Blocks for up to `SYSTEM_CLIPBOARD_TIMEOUT` (it shells out): run it in a thread.
    """
    outcome = call_with_timeout(lambda: copy_to_system_clipboard(text), SYSTEM_CLIPBOARD_TIMEOUT)
    if outcome is SystemCopy.NO_CLIPBOARD:
        return ClipboardResult(terminal=True, system=False)
    if outcome is SystemCopy.UNSAFE:
        return ClipboardResult(terminal=True, system=False, system_skipped=UNSAFE_CLIPBOARD)
    if outcome is SystemCopy.COPIED:
        return ClipboardResult(terminal=True, system=True)
    return ClipboardResult(terminal=True, system=False, system_error=outcome)


class SystemCopy(enum.Enum):
    COPIED = "copied"
    NO_CLIPBOARD = "no clipboard"
    UNSAFE = "unsafe"  # there is one, but its helper would show the text on a command line


def copy_to_system_clipboard(text: str) -> SystemCopy:
    """Put `text` on the local clipboard, if this machine has one. Raises when copying fails."""
    copier = find_system_copier()
    if copier is None:
        return SystemCopy.UNSAFE if _unsafe_clipboard_found() else SystemCopy.NO_CLIPBOARD
    copier(text)
    return SystemCopy.COPIED


def find_system_copier() -> SystemCopier | None:
    """pyperclip's copy function for this machine, or None when there is no local clipboard."""
    functions = _pyperclip_functions()
    return functions[0] if functions else None


def find_system_paster() -> SystemPaster | None:
    """pyperclip's paste function for this machine, or None when there is no local clipboard."""
    functions = _pyperclip_functions()
    return functions[1] if functions else None


def _pyperclip_functions() -> tuple[SystemCopier, SystemPaster] | None:
    """pyperclip's copy and paste for this machine, when it has a clipboard we may use."""
    functions = _pyperclip_mechanism()
    if functions is None or not stdin_or_api(functions[0]):
        return None
    return functions


def stdin_or_api(copier: Callable[..., object]) -> bool:
    """Whether a pyperclip copy function hands the text over without a command line."""
    return getattr(copier, "__name__", "") in STDIN_OR_API_COPIERS


def _unsafe_clipboard_found() -> bool:
    functions = _pyperclip_mechanism()
    return functions is not None and not stdin_or_api(functions[0])


def _pyperclip_mechanism() -> tuple[SystemCopier, SystemPaster] | None:
    if _is_headless_unix():
        # Skip pyperclip's probing (it tries GTK/Qt imports) when there is plainly no display.
        return None
    try:
        import pyperclip  # lazily: only the copy button needs it
    except ImportError:
        return None
    try:
        copy, paste = pyperclip.determine_clipboard()
    except Exception:  # noqa: BLE001 - probing a clipboard must never break the dialog
        return None
    # pyperclip's "no mechanism" stand-in is falsy; calling it would raise PyperclipException.
    return (copy, paste) if copy and paste else None


def secret_digest(text: str) -> str:
    """What is kept to recognise a secret later: its SHA-256, never the secret."""
    import hashlib  # OpenSSL's, a few ms: loaded by the first copy, not at start-up

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ClearOutcome(enum.Enum):
    CLEARED = "cleared"
    CHANGED = "changed"  # the clipboard holds something else now: left alone
    NO_CLIPBOARD = "no clipboard"


def clear_if_unchanged(
    digest: str, paste: SystemPaster | None = None, copy: SystemCopier | None = None
) -> ClearOutcome:
    """Empty the system clipboard if it still holds the secret whose digest is `digest`.

    Blocking (pyperclip shells out); raises when the clipboard fails. Never logs what it read.
    """
    paste = paste or find_system_paster()
    copy = copy or find_system_copier()
    if paste is None or copy is None:
        return ClearOutcome.NO_CLIPBOARD
    current = paste()
    if not isinstance(current, str) or secret_digest(current) != digest:
        return ClearOutcome.CHANGED
    copy("")
    return ClearOutcome.CLEARED


class ClipboardClearer:
    """Clears copied secrets from the system clipboard `delay` seconds later, if still there.

    One per app session. It holds digests and timers, never a secret: `schedule(secret)` hashes
    the secret at once. The timers run on the app, so they outlive the dialog that copied; `flush()`
    (called when the session ends) clears whatever is still pending, without waiting for the delay.
    `paste` and `copy` default to pyperclip's, looked up at clearing time.
    """

    def __init__(
        self,
        app: App,
        delay: float,
        *,
        paste: SystemPaster | None = None,
        copy: SystemCopier | None = None,
        timeout: float | None = None,
    ) -> None:
        self._app = app
        self.delay = max(0.0, delay)
        self._paste = paste
        self._copy = copy
        self._timeout = timeout
        self._pending: dict[str, Timer] = {}
        #: What each pending secret is called in the toast (the key's name, never the key).
        self._labels: dict[str, str] = {}
        #: What each clear did, oldest first (outcomes only: for tests and the curious).
        self.outcomes: list[ClearOutcome | str] = []

    @property
    def enabled(self) -> bool:
        return self.delay > 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def schedule(self, secret: str, *, label: str = "The API key") -> bool:
        """Clear `secret` from the system clipboard after the delay. False when disabled.

        `label` names it in the toast once cleared (e.g. the key's quoted name)."""
        return self.schedule_digest(secret_digest(secret), label=label)

    def schedule_digest(self, digest: str, *, label: str = "The API key") -> bool:
        """`schedule`, for the secret whose `secret_digest` is `digest`."""
        if not self.enabled:
            return False
        self._labels[digest] = label
        previous = self._pending.pop(digest, None)
        if previous is not None:
            previous.stop()
        self._pending[digest] = self._app.set_timer(
            self.delay, lambda: self._due(digest), name="oz-keys clipboard clear"
        )
        return True

    def _due(self, digest: str) -> None:
        if self._pending.pop(digest, None) is None:
            return
        self._app.run_worker(
            self._clear(digest), name="oz-keys clipboard clear", group="clipboard-clear",
            exit_on_error=False,
        )

    async def _clear(self, digest: str) -> None:
        label = self._labels.pop(digest, "The API key")
        outcome = await asyncio.to_thread(self._clear_blocking, digest)
        if outcome is ClearOutcome.CLEARED:
            self._app.notify(
                f"{label} was cleared from the system clipboard.", title="API key",
                markup=False,
            )

    def _clear_blocking(self, digest: str) -> ClearOutcome | str:
        timeout = SYSTEM_CLIPBOARD_TIMEOUT if self._timeout is None else self._timeout
        outcome = call_with_timeout(
            lambda: clear_if_unchanged(digest, self._paste, self._copy), timeout
        )
        if isinstance(outcome, str):
            # The type name only (see call_with_timeout): never what the clipboard held.
            log.warning("clearing the system clipboard failed: %s", outcome)
        self.outcomes.append(outcome)
        return outcome

    def flush(self) -> None:
        """Clear every pending secret now (the session is ending); blocks briefly."""
        pending, self._pending = self._pending, {}
        self._labels.clear()
        for digest, timer in pending.items():
            timer.stop()
            self._clear_blocking(digest)


def call_with_timeout(work: Callable[[], T], timeout: float) -> T | str:
    """`work()` run in a daemon thread: its answer, "timed out", or the exception's type name.

    Probing and copying both shell out, so both run off the event loop's thread. Only the
    exception's type is kept: texts from helper programs are not ours to vouch for, and must
    never be able to carry the secret into a toast. A timed-out thread is left to finish (or
    not) on its own; it is a daemon, so it never holds up exit.
    """
    outcome: list[T | str] = []

    def target() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the UI
            outcome.append(type(exc).__name__)

    worker = threading.Thread(target=target, name="oz-keys-clipboard", daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome[0] if outcome else "timed out"


def _is_headless_unix() -> bool:
    if sys.platform.startswith(("win", "cygwin", "darwin")):
        return False
    if _is_wsl():
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _is_wsl() -> bool:
    try:
        with open("/proc/version", encoding="utf-8", errors="replace") as version:
            return "microsoft" in version.read().lower()
    except OSError:
        return False
