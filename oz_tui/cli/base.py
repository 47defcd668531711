"""What the command line's parts share: the program's name, its exit codes, and `UsageError`."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

PROG = "oz-keys"
# Exit codes. 3 (authentication) and 4 (not found) come with the error: `OzError.exit_code`.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake on the command line. One line for the user; exit 2."""


def is_tty(stream: TextIO | None) -> bool:
    """Whether `stream` is a terminal (a closed or odd stream is not)."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def run_inline(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command that never waits to its end, without an event loop.

    A command on the in-process store (its client `blocking`) awaits only coroutines that finish
    at once; asyncio's import alone would cost more than the whole command. A coroutine that
    does wait for something is a bug here, and says so.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError(f"{coroutine.__qualname__} waited for something; it needs an event loop")


def fail(stderr: TextIO, message: str, code: int = EXIT_ERROR) -> int:
    """Say `message` as the one line `oz-keys: …` on stderr; return `code`."""
    from oz_tui.sanitize import safe_text

    stderr.write(f"{PROG}: {safe_text(message)}\n")
    stderr.flush()
    return code
