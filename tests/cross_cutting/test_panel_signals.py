"""SIGTERM, SIGHUP and SIGQUIT while *Save your key* is open, on a real pseudo-terminal.

`oz-keys --demo` runs on a pty; the test creates a key through the keyboard, copies it to a
stand-in system clipboard (a fake `xclip`/`xsel` on PATH, with DISPLAY set), sends the signal and
reads what the app wrote: the terminal restored as on a normal exit (alternate screen left, mouse
reporting off, cursor shown), the key not drawn again, the pending clipboard clear done, exit
code 128 + the signal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pyte
import pytest

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Z]")
SECRET = re.compile(r"wk-1\.[0-9a-f]{64}")

FAKE_CLIPBOARD = """#!/bin/sh
# A stand-in system clipboard for xclip and xsel: `-o` pastes, anything else copies stdin.
for arg in "$@"; do
  if [ "$arg" = "-o" ]; then cat "$FAKE_CLIPBOARD_FILE" 2>/dev/null; exit 0; fi
done
cat > "$FAKE_CLIPBOARD_FILE"
"""

LEAVE_ALT_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = (b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1006l")
SHOW_CURSOR = b"\x1b[?25h"


def last_screen(output: bytes) -> str:
    """What a 120x36 terminal that ignores the alternate screen shows after `output`."""
    screen = pyte.Screen(120, 36)
    stream = pyte.ByteStream(screen)
    stream.feed(output)
    return "\n".join(screen.display)


class Terminal:
    """The parent side of a pty running one process; collects everything it writes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO,
            close_fds=True, start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def read(self, timeout: float = 0.2) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:
                pass

    def screen_text(self, since: int = 0) -> str:
        return ANSI.sub(b"", self.output[since:]).decode("utf-8", "replace")

    def wait_for(self, text: str, since: int = 0, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in " ".join(self.screen_text(since).split()):
                return
            if self.proc.poll() is not None:
                break
            self.read()
        raise AssertionError(f"{text!r} never appeared: {self.screen_text()[-1500:]!r}")

    def wait_for_pattern(self, pattern: re.Pattern[str], since: int = 0) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = pattern.search(self.screen_text(since))
            if found:
                return found.group()
            self.read()
        raise AssertionError(f"{pattern.pattern!r} never appeared: {self.screen_text()[-3000:]!r}")

    def press(self, keys: bytes) -> int:
        for _ in range(3):  # let the screen settle (focus, layout) before the key arrives
            self.read(0.1)
        mark = len(self.output)
        os.write(self.master, keys)
        return mark

    def wait_exit(self, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read()
        for _ in range(5):  # what was written just before the exit
            self.read(0.05)
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        os.close(self.master)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def panel_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("xclip", "xsel"):
        helper = bin_dir / name
        helper.write_text(FAKE_CLIPBOARD)
        helper.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WARP_", "OZ_KEYS_", "WAYLAND_", "TEXTUAL"))}
    env.update(
        TERM="xterm-256color", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"), DISPLAY=":99",
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        FAKE_CLIPBOARD_FILE=str(tmp_path / "clipboard"),
    )
    return env


@pytest.mark.parametrize(
    ("signal_name", "copy"),
    [("SIGTERM", True), ("SIGHUP", True), ("SIGQUIT", True), ("SIGTERM", False)],
)
def test_a_signal_restores_the_terminal_and_leaves_no_key_behind(
    panel_env: dict[str, str], tmp_path: Path, signal_name: str, copy: bool, reliability: Any
) -> None:
    number = getattr(signal, signal_name)
    clipboard_file = Path(panel_env["FAKE_CLIPBOARD_FILE"])
    terminal = Terminal([sys.executable, "-m", "oz_tui", "--demo"], panel_env)
    try:
        terminal.wait_for("Create API Key")
        terminal.wait_for("keys")  # the table is loaded
        mark = terminal.press(b"n")
        terminal.wait_for("New API key", since=mark)
        mark = terminal.press(b"\r")
        terminal.wait_for("Save your key", since=mark)
        raw = terminal.wait_for_pattern(SECRET, since=mark)
        if copy:
            mark = terminal.press(b"c")
            terminal.wait_for("Copied", since=mark)
            # The system copy runs in a thread: the dialog says when it is done.
            terminal.wait_for("will be cleared", since=mark)
            assert clipboard_file.read_text() == raw
        signal_at = len(terminal.output)
        terminal.proc.send_signal(number)
        code = terminal.wait_exit()
    finally:
        terminal.close()

    assert code == 128 + number, terminal.screen_text()[-800:]
    after = terminal.output[signal_at:]
    # The terminal is given back as on a normal exit ...
    assert LEAVE_ALT_SCREEN in after
    for sequence in MOUSE_OFF:
        assert sequence in after, sequence
    assert SHOW_CURSOR in after
    # ... nothing is drawn after leaving the alternate screen ...
    tail = after[after.rindex(LEAVE_ALT_SCREEN) + len(LEAVE_ALT_SCREEN):]
    assert raw.encode() not in tail and raw[5:].encode() not in tail
    # ... and even a terminal without an alternate screen (pyte ignores it: it shows the last
    # frame drawn) is left without the key on it.
    assert raw[5:] not in last_screen(terminal.output)
    assert "Save your key" in last_screen(terminal.output[:signal_at])  # (the test can see it)
    # No traceback, no question left waiting.
    assert "Traceback" not in terminal.screen_text(signal_at)
    if copy:
        # The pending clear ran: the stand-in clipboard held the key, now it is empty.
        assert clipboard_file.read_text() == ""
    reliability.passed("secrets", "signals", "outcome",
                       "terminal restored (alternate screen left, mouse off, cursor shown), key "
                       "wiped from the last frame, pending clipboard clear done, exit 128+signal")
