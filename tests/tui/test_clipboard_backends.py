"""The system clipboard never gets the key on a command line.

Each of pyperclip's back ends that runs a helper program is run for real against stand-in helpers
(scripts on PATH that record their arguments and stdin): the key must reach them on stdin, never
in their arguments, where any local user can read it with `ps`. The back ends that fail that
(KDE's Klipper, through `qdbus`) are not used: the copy skips the system clipboard and says so.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

import pyperclip
import pytest

from oz_tui.tui import clipboard
from oz_tui.tui.clipboard import STDIN_OR_API_COPIERS, ClipboardResult, copy_to_system
from oz_tui.tui.screens.show_key import copy_toast

SECRET = "wk-1." + hashlib.sha256(b"clipboard-backends").hexdigest()

RECORDER = """#!/bin/sh
# Records how it was called: its arguments, then what came on stdin.
printf '%s\\n' "$0 $*" >> "$RECORD_FILE.args"
cat >> "$RECORD_FILE.stdin"
"""

#: pyperclip's back ends that run a program, and the programs they run.
SUBPROCESS_BACKENDS: dict[str, tuple[Callable[[], tuple[Callable, Callable]], tuple[str, ...]]] = {
    "pbcopy": (pyperclip.init_osx_pbcopy_clipboard, ("pbcopy",)),
    "xclip": (pyperclip.init_xclip_clipboard, ("xclip",)),
    "xsel": (pyperclip.init_xsel_clipboard, ("xsel",)),
    "wl-copy": (pyperclip.init_wl_clipboard, ("wl-copy",)),
    "wsl": (pyperclip.init_wsl_clipboard, ("clip.exe",)),
    "klipper": (pyperclip.init_klipper_clipboard, ("qdbus",)),
}


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for _init, programs in SUBPROCESS_BACKENDS.values():
        for program in programs:
            script = bin_dir / program
            script.write_text(RECORDER)
            script.chmod(0o755)
    record = tmp_path / "record"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("RECORD_FILE", str(record))
    return record


@pytest.mark.parametrize("backend", sorted(SUBPROCESS_BACKENDS))
def test_only_back_ends_that_keep_the_key_off_the_command_line_are_trusted(
    backend: str, recorded: Path, reliability: Any
) -> None:
    init, _programs = SUBPROCESS_BACKENDS[backend]
    copy, _paste = init()
    copy(SECRET)
    arguments = Path(f"{recorded}.args").read_text()
    received = Path(f"{recorded}.stdin").read_bytes()
    on_command_line = SECRET in arguments
    assert on_command_line or SECRET.encode() in received or SECRET.encode("utf-16le") in received
    # The allow-list trusts exactly the back ends that, run for real, kept it off the command line.
    assert clipboard.stdin_or_api(copy) is not on_command_line
    assert (copy.__name__ in STDIN_OR_API_COPIERS) is not on_command_line
    reliability.passed("secrets", "clipboard-argv", "outcome",
                       "only back ends that take the key on stdin or an API; KDE Klipper "
                       "(a qdbus argument) is skipped and the toast says why")


def test_klipper_is_never_given_the_key_and_the_toast_says_why(
    monkeypatch: pytest.MonkeyPatch, recorded: Path
) -> None:
    monkeypatch.setattr(clipboard, "_is_headless_unix", lambda: False)
    monkeypatch.setattr(pyperclip, "determine_clipboard", pyperclip.init_klipper_clipboard)
    assert clipboard.find_system_copier() is None and clipboard.find_system_paster() is None
    result = copy_to_system(SECRET)
    assert result == ClipboardResult(
        terminal=True, system=False, system_skipped=clipboard.UNSAFE_CLIPBOARD
    )
    assert not Path(f"{recorded}.args").exists()  # qdbus never ran
    toast = copy_toast(result)
    assert "system clipboard was not used" in toast and "command line" in toast
    assert SECRET not in toast


def test_a_trusted_back_end_is_used(monkeypatch: pytest.MonkeyPatch, recorded: Path) -> None:
    monkeypatch.setattr(clipboard, "_is_headless_unix", lambda: False)
    monkeypatch.setattr(pyperclip, "determine_clipboard", pyperclip.init_xsel_clipboard)
    result = copy_to_system(SECRET)
    assert result == ClipboardResult(terminal=True, system=True)
    assert Path(f"{recorded}.stdin").read_text() == SECRET
    assert SECRET not in Path(f"{recorded}.args").read_text()
