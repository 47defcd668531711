"""Calls a CLI command's deadline does not cover (no httpx here: the CLI imports it always).

`OzClient(command_timeout=…)` gives a command one budget for waiting on its server. Taking back
a key nobody received (oz_tui/cli/delivery.py) must not be starved by a create that used most of
that budget: it runs `outside_command_deadline()`, bounded by its own timeout instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_OUTSIDE: ContextVar[bool] = ContextVar("oz_keys_outside_command_deadline", default=False)


@contextmanager
def outside_command_deadline() -> Iterator[None]:
    """Client calls made within (and in tasks started within) skip the command's deadline."""
    token = _OUTSIDE.set(True)
    try:
        yield
    finally:
        _OUTSIDE.reset(token)


def is_outside_command_deadline() -> bool:
    return _OUTSIDE.get()
