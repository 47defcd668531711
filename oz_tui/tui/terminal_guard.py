"""The panel never blocks on a dead terminal: a design property, kept here and only here.

Textual writes the screen through a bounded queue drained by a writer thread; once the
terminal is gone (tmux server killed, SSH dropped) writes fail or stall, the queue fills, and
the event loop (and its shutdown) block in `put` for good. Handlers queued on that loop (the
loop's own signal handlers) then never run either. So the way out must not depend on the loop:

- `TerminalGuard.install` sets the ending signals' handlers with `signal.signal` (they run in
  the main thread between bytecodes, even while it waits on the full queue). The handler asks
  the app, thread-safely, for the orderly exit (secret wiped, terminal restored) and arms the
  watchdog.
- A daemon thread polls the terminal's input for a hang-up (POLLHUP/POLLERR/POLLNVAL, what a
  closed pty master or a dropped SSH session gives) and treats it like SIGHUP.
- The watchdog, a daemon thread, waits `grace` seconds for the orderly exit (which wipes the
  secret first), then writes the terminal-restore sequence with a non-blocking write and ends
  the process with `os._exit(128 + signal)`: the secret's last copy goes with the process's
  memory, and nothing more (no traceback) is written to a terminal that is gone.

The guard relies only on public APIs: `signal`, `select.poll`, `os._exit`, and the app's
callbacks given to it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable, Iterable

#: What a normal exit leaves on the terminal: alternate screen left, mouse reporting off,
#: cursor shown. Written once, non-blocking, only when the orderly exit did not finish.
RESTORE_TERMINAL = b"\x1b[?1000l\x1b[?1003l\x1b[?1006l\x1b[?1049l\x1b[?25h"

#: How long the orderly exit may take before the process ends anyway (well inside 3 s).
GRACE_SECONDS = 1.5

_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL


class TerminalGuard:
    """Bounded ending for a full-screen session on a terminal that may vanish at any moment."""

    def __init__(
        self,
        request_exit: Callable[[int], None],
        *,
        signals: Iterable[int],
        input_fd: int = 0,
        output_fd: int = 1,
        grace: float = GRACE_SECONDS,
    ) -> None:
        # `request_exit(signal)` must be safe to call from any thread (it schedules on the loop).
        self._request_exit = request_exit
        self._signals = tuple(signals)
        self._input_fd = input_fd
        self._output_fd = output_fd
        self._grace = grace
        self._previous: dict[int, object] = {}
        self._armed = threading.Lock()
        self._ending: int | None = None
        self._finished = threading.Event()

    def install(self) -> None:
        """Take over the ending signals (main thread only) and watch the terminal for a hang-up."""
        if threading.current_thread() is threading.main_thread():
            for number in self._signals:
                with contextlib.suppress(OSError, ValueError):
                    self._previous[number] = signal.signal(number, self._on_signal)
        threading.Thread(target=self._watch_input, name="terminal-hangup", daemon=True).start()

    def finished(self) -> None:
        """The orderly exit is done: the watchdog stands down, the old handlers come back."""
        self._finished.set()
        if threading.current_thread() is threading.main_thread():
            for number, handler in self._previous.items():
                with contextlib.suppress(OSError, ValueError, TypeError):
                    signal.signal(number, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @property
    def ending(self) -> int | None:
        """The signal the session is ending on (SIGHUP for a terminal gone), if any."""
        return self._ending

    def end(self, number: int) -> None:
        """End the session on `number`: the orderly way if it finishes in time, else anyway."""
        with self._armed:
            if self._ending is not None or self._finished.is_set():
                return
            self._ending = number
        threading.Thread(
            target=self._watchdog, args=(number,), name="ending-watchdog", daemon=True,
        ).start()
        with contextlib.suppress(Exception):  # the loop may be closed already
            self._request_exit(number)

    def _on_signal(self, number: int, _frame: object) -> None:
        self.end(number)

    def _watch_input(self) -> None:
        poller = select.poll()
        try:
            poller.register(self._input_fd, 0)  # hang-up and errors are always reported
        except (OSError, ValueError):
            return
        while not self._finished.is_set():
            try:
                events = poller.poll(250)
            except OSError:
                events = [(self._input_fd, select.POLLERR)]
            if any(flags & _HANGUP for _fd, flags in events):
                self.end(signal.SIGHUP)
                return

    def _watchdog(self, number: int) -> None:
        if self._finished.wait(self._grace):
            return
        # The orderly exit (asked first) wipes the secret; a process ended here takes its
        # memory, the secret's last copy, with it.
        write_nonblocking(self._output_fd, RESTORE_TERMINAL)
        os._exit(128 + number)


def write_nonblocking(fd: int, data: bytes) -> None:
    """Write what the terminal takes right now; never wait for it, never raise."""
    try:
        flags = os.get_blocking(fd)
        os.set_blocking(fd, False)
        try:
            os.write(fd, data)
        finally:
            os.set_blocking(fd, flags)
    except OSError:
        pass
