"""The panel's terminal goes away (its pty master closed) at many moments; or a signal lands
while nobody reads its output. Every run ends within 3 seconds and leaves no process behind."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_panel_signals import Terminal, panel_env  # noqa: E402,F401 - the fixture is shared

DEADLINE = 3.0

#: (moment, steps): each step is (keys to press, text to wait for after them).
OPEN = (b"", "keys")  # the table has loaded
SAVE = [OPEN, (b"n", "New API key"), (b"\r", "Save your key")]
ROTATED = [OPEN, (b"R", "Rotate API key"), (b"\r", "Save your key")]
MOMENTS: list[tuple[str, list[tuple[bytes, str]]]] = [
    # start-up
    ("at once", []),
    ("first frame", [(b"", "Create API Key")]),
    ("table loaded", [(b"", "Create API Key"), OPEN]),
    ("refreshing", [OPEN, (b"r", "")]),
    ("searching", [OPEN, (b"/", ""), (b"ci", "")]),
    # every dialog
    ("create dialog", [OPEN, (b"n", "New API key")]),
    ("create dialog, name typed", [OPEN, (b"n", "New API key"), (b"ci", "ci")]),
    ("save your key", SAVE),
    ("save your key, copied", [*SAVE, (b"c", "")]),
    ("save your key, leave asked", [*SAVE, (b"\x1b", "Close anyway")]),
    ("help", [OPEN, (b"?", "Help: Oz Cloud API keys")]),
    ("palette", [OPEN, (b"\x10", "Search for commands")]),
    ("palette, quit typed", [OPEN, (b"\x10", "Search for commands"), (b"quit", "Quit")]),
    ("delete confirmation", [OPEN, (b"d", "Delete API key")]),
    ("marked keys, bulk delete", [OPEN, (b" ", ""), (b"j ", ""), (b"d", "Delete 2")]),
    ("details", [OPEN, (b"\r", "API key details")]),
    ("rotate dialog", [OPEN, (b"R", "Rotate API key")]),
    ("rotated key shown", ROTATED),
    # quitting
    ("quit asked with a key shown", [*SAVE, (b"\x11", "Quit anyway")]),
    ("quit asked with a rotated key shown", [*ROTATED, (b"\x11", "Quit anyway")]),
    ("quitting", [OPEN, (b"q", "")]),
    ("quitting with ctrl+q", [OPEN, (b"\x11", "")]),
]


def ended_within(terminal: Terminal, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if terminal.proc.poll() is not None:
            return True
        time.sleep(0.05)
    return terminal.proc.poll() is not None


def kill_straggler(terminal: Terminal) -> None:
    if terminal.proc.poll() is None:
        terminal.proc.kill()
        terminal.proc.wait()


@pytest.mark.parametrize(("moment", "steps"), MOMENTS, ids=[m for m, _ in MOMENTS])
def test_the_terminal_closed_ends_the_panel(
    panel_env: dict[str, str], moment: str, steps: list[tuple[bytes, str]], reliability: Any
) -> None:
    terminal = Terminal([sys.executable, "-m", "oz_tui", "--demo"], panel_env)
    try:
        for keys, text in steps:
            mark = terminal.press(keys) if keys else 0
            if text:
                terminal.wait_for(text, since=mark)
        os.close(terminal.master)
        ended = ended_within(terminal, DEADLINE)
    finally:
        kill_straggler(terminal)
    assert ended, f"still running {DEADLINE}s after the terminal closed ({moment})"
    reliability.passed("secrets", "terminal-gone", "outcome",
                       f"{len(MOMENTS)} moments: the process ends within {DEADLINE:.0f} s, "
                       "none left behind")


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("with_key", [False, True], ids=["table", "save-your-key"])
def test_a_signal_ends_the_panel_while_its_output_is_blocked(
    panel_env: dict[str, str], signal_name: str, with_key: bool, reliability: Any
) -> None:
    number = getattr(signal, signal_name)
    terminal = Terminal([sys.executable, "-m", "oz_tui", "--demo"], panel_env)
    try:
        terminal.wait_for("keys")
        if with_key:
            mark = terminal.press(b"n")
            terminal.wait_for("New API key", since=mark)
            mark = terminal.press(b"\r")
            terminal.wait_for("Save your key", since=mark)
        # Nobody reads any more: make the app draw a lot (resizes) until the pty is full.
        import fcntl, struct, termios  # noqa: E401,PLC0415
        for index in range(40):
            rows, cols = (36, 120) if index % 2 else (50, 200)
            fcntl.ioctl(terminal.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            terminal.proc.send_signal(signal.SIGWINCH)
            time.sleep(0.05)
        terminal.proc.send_signal(number)
        ended = ended_within(terminal, DEADLINE)
    finally:
        kill_straggler(terminal)
        os.close(terminal.master)
    assert ended, f"still running {DEADLINE}s after {signal_name} with its output blocked"
    assert terminal.proc.returncode == 128 + number
    reliability.passed("secrets", "signals-blocked", "outcome",
                       f"SIGTERM, SIGHUP, on the table and on *Save your key*: exit 128+signal "
                       f"within {DEADLINE:.0f} s")
