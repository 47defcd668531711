"""What the command line's parts share: the program's name, its exit codes, and `UsageError`."""

from __future__ import annotations

import errno
import os
from typing import TextIO

PROG = "oz-keys"
# Exit codes. 3 (authentication) and 4 (not found) come with the error: `OzError.exit_code`.
EXIT_OK = 0
EXIT_ERROR = 1
#: `audit` found keys that need attention (so `oz-keys audit || notify` works in cron).
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake on the command line. One line for the user; exit 2."""


class ClosedStream:
    """Stands in for a standard stream that was closed before oz-keys started (`>&-`), which
    Python gives as None: every write fails as on a closed descriptor."""

    closed = True

    def write(self, _text: str) -> int:
        raise OSError(errno.EBADF, "standard stream is closed")

    def flush(self) -> None:
        raise OSError(errno.EBADF, "standard stream is closed")

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard stream is closed")

    def readline(self) -> str:
        return ""


def is_writable(stream: TextIO) -> bool:
    """Whether `stream` can take output: not closed, and its descriptor (if any) open."""
    if isinstance(stream, ClosedStream) or getattr(stream, "closed", False):
        return False
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return True  # not a real file (tests: StringIO)
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def is_tty(stream: TextIO | None) -> bool:
    """Whether `stream` is a terminal (a closed or odd stream is not)."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def fail(stderr: TextIO, message: str, code: int = EXIT_ERROR) -> int:
    """Say `message` as the one line `oz-keys: …` on stderr; return `code`."""
    from oz_tui.core.sanitize import safe_text

    try:
        stderr.write(f"{PROG}: {safe_text(message)}\n")
        stderr.flush()
    except (OSError, ValueError):
        pass  # stderr is closed too: the exit code is all that is left
    return code
