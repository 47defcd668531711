"""Copy a freshly created secret to every clipboard we can reach, without ever logging it.

Two routes, because neither is enough on its own:

* OSC 52 (`App.copy_to_clipboard`): the terminal puts the text on *its* clipboard. This is the
  only route that works over SSH, but the terminal may ignore it (tmux needs
  `set -g set-clipboard on`; some terminals disable it) and gives no answer, so we can only say
  the text was *sent*.
* pyperclip: the local system clipboard, when this process can reach one (macOS pbcopy, Windows,
  WSL, wl-copy under Wayland, xclip/xsel under X11). Its absence is normal (SSH, containers,
  CI) and not an error.

Room for later: clearing the system clipboard after 45 s if it still holds the key would hang off
`copy_secret` (it knows whether the system copy happened); nothing here keeps the text for it.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
from dataclasses import dataclass
from typing import Callable

from textual.app import App

#: The longest the UI may freeze waiting for the system clipboard. pyperclip shells out
#: (xclip, wl-copy, pbcopy) and a wedged helper can block forever; we wait this long in a
#: daemon thread and then report "timed out" instead of blocking the event loop. Waiting a
#: moment (rather than fire-and-forget) lets the toast tell the truth about what happened.
SYSTEM_CLIPBOARD_TIMEOUT = 0.75


@dataclass(frozen=True)
class ClipboardResult:
    """Where a copy went. `system_error` is set only when a system clipboard exists and failed."""

    terminal: bool
    system: bool
    system_error: str | None = None


SystemCopier = Callable[[str], None]


def copy_secret(app: App, text: str) -> ClipboardResult:
    """Send `text` to the terminal clipboard (always) and the system clipboard (when one exists).

    Never logs `text` and never puts it in an error message.
    """
    app.copy_to_clipboard(text)
    outcome = call_with_timeout(lambda: copy_to_system_clipboard(text), SYSTEM_CLIPBOARD_TIMEOUT)
    if outcome is SystemCopy.NO_CLIPBOARD:
        return ClipboardResult(terminal=True, system=False)
    if outcome is SystemCopy.COPIED:
        return ClipboardResult(terminal=True, system=True)
    return ClipboardResult(terminal=True, system=False, system_error=outcome)


class SystemCopy(enum.Enum):
    COPIED = "copied"
    NO_CLIPBOARD = "no clipboard"


def copy_to_system_clipboard(text: str) -> SystemCopy:
    """Put `text` on the local clipboard, if this machine has one. Raises when copying fails."""
    copier = find_system_copier()
    if copier is None:
        return SystemCopy.NO_CLIPBOARD
    copier(text)
    return SystemCopy.COPIED


def find_system_copier() -> SystemCopier | None:
    """pyperclip's copy function for this machine, or None when there is no local clipboard."""
    if _is_headless_unix():
        # Skip pyperclip's probing (it tries GTK/Qt imports) when there is plainly no display.
        return None
    try:
        import pyperclip  # lazily: only the copy button needs it
    except ImportError:
        return None
    try:
        copy, _paste = pyperclip.determine_clipboard()
    except Exception:  # noqa: BLE001 - probing a clipboard must never break the dialog
        return None
    # pyperclip's "no mechanism" stand-in is falsy; calling it would raise PyperclipException.
    return copy if copy else None


def call_with_timeout(work: Callable[[], SystemCopy], timeout: float) -> SystemCopy | str:
    """`work()` run in a daemon thread: its answer, "timed out", or the exception's type name.

    Probing and copying both shell out, so both run off the event loop's thread. Only the
    exception's type is kept: texts from helper programs are not ours to vouch for, and must
    never be able to carry the secret into a toast. A timed-out thread is left to finish (or
    not) on its own; it is a daemon, so it never holds up exit.
    """
    outcome: list[SystemCopy | str] = []

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
