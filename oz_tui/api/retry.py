"""Which calls are tried again, when, and within what budget.

Only safe (idempotent) calls are retried, a create never: up to `MAX_RETRIES` more attempts,
each after the server's `Retry-After` or a jittered exponential backoff; a server asking for a
longer wait than `MAX_RETRY_AFTER` is not waited for. A command's one budget for waiting on its
server (`command_timeout`, a `CommandBudget`) bounds every call, attempt, retry and backoff
together; time between calls (a prompt) does not count.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from oz_tui.core import errors
from oz_tui.api.deadline import is_outside_command_deadline
from oz_tui.api.failures import Retryable

log = logging.getLogger(__name__)

MAX_RETRIES = 2
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RETRY_AFTER = 60.0

T = TypeVar("T")


@dataclass(slots=True)
class Tried:
    """What one call has done so far, for the message when the command's deadline ends it."""

    attempts: int = 0
    #: Each attempt's trace progress (see `OzClient._attempt`).
    progress: list[dict[str, bool]] = field(default_factory=list)

    @property
    def may_have_been_sent(self) -> bool:
        return any(p["sent"] or not p["traced"] for p in self.progress)


class CommandBudget:
    """A command's time for waiting on its server, `seconds` in all (None: no bound)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._left = seconds
        self._waiting = 0
        self._deadline: float | None = None

    def start(self) -> float | None:
        """The loop time at which the budget runs out (None: it has none). Calls that wait
        together (who-am-I's two) share one deadline."""
        if self._left is None or is_outside_command_deadline():
            return None
        if self._waiting == 0:
            self._deadline = asyncio.get_running_loop().time() + self._left
        self._waiting += 1
        return self._deadline

    def stop(self) -> None:
        """The end of a call `start` gave a deadline: the last one out keeps what is left of
        the budget for the command's next call."""
        self._waiting -= 1
        if self._waiting == 0 and self._deadline is not None:
            self._left = max(0.0, self._deadline - asyncio.get_running_loop().time())

    def would_pass(self, delay: float) -> bool:
        """Whether waiting `delay` seconds from now would pass the command's deadline."""
        if self._left is None or self._deadline is None or is_outside_command_deadline():
            return False
        return asyncio.get_running_loop().time() + delay >= self._deadline


def backoff(attempt: int, jitter: Callable[[], float]) -> float:
    """0.5 s, 1 s, 2 s, … capped at 8 s; jittered down to half of that at random."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    return ceiling * (0.5 + min(1.0, max(0.0, jitter())) / 2)


async def attempts(
    attempt: Callable[[], Awaitable[Any]],
    read: Callable[[Any], T],
    *,
    name: str,
    retries: int,
    budget: CommandBudget,
    sleep: Callable[[float], Awaitable[Any]],
    jitter: Callable[[], float],
    tried: Tried,
) -> T:
    """`read` the answer of `attempt`, which raises `Retryable` for a failure `retries` more
    attempts may get past."""
    total = 1 + retries
    may_have_applied = False
    for number in range(total):
        retry: Retryable | None = None
        tried.attempts += 1
        try:
            payload = await attempt()
        except Retryable as failure:
            retry = failure
        if retry is None:
            try:
                return read(payload)
            except errors.OzError as exc:
                # Only a retry can find an earlier attempt's effect (a key already expired).
                exc.earlier_attempt_may_have_applied = may_have_applied
                raise
        may_have_applied = may_have_applied or retry.may_have_applied
        last = number == total - 1
        too_long = retry.retry_after is not None and retry.retry_after > MAX_RETRY_AFTER
        if last or too_long:
            raise retry.error
        delay = retry.retry_after if retry.retry_after is not None else backoff(number, jitter)
        if retry.retry_after is not None and budget.would_pass(delay):
            # The server asks for a wait the command's deadline would cut short: what it
            # said is the news, not that the deadline passed.
            raise retry.error
        log.debug(
            "%s: %s, retry %d of %d in %.2fs",
            name,
            type(retry.error).__name__,
            number + 1,
            total - 1,
            delay,
        )
        await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
