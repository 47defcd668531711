"""Expire many keys at once: bounded concurrency, one outcome per key, no retries.

Shared by whatever deletes several keys (the panel's marked rows). No Textual. Each key is tried
once: a failed expire may have reached the server (a timeout), so trying again blindly could act
twice; the caller shows the failure and leaves the choice to the user.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable

from oz_tui.core.models import ApiKey

#: Expires in flight at once: quick for tens of keys, gentle on the server for thousands.
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class ExpireOutcome:
    key: ApiKey
    #: None when the key was expired.
    error: Exception | None = None

    @property
    def expired(self) -> bool:
        return self.error is None


async def expire_each(
    expire: Callable[[str], Awaitable[object]],
    keys: Iterable[ApiKey],
    *,
    limit: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[ExpireOutcome], None] | None = None,
) -> list[ExpireOutcome]:
    """Expire every key (`expire(uid)`), at most `limit` at a time, each once.

    `on_outcome` hears each key's outcome as it finishes; the list returned is in the order of
    `keys`. Exceptions (not cancellation) are outcomes, never raised. Cancelling this cancels
    the expires still in flight or waiting.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    gate = asyncio.Semaphore(limit)

    async def one(key: ApiKey) -> ExpireOutcome:
        async with gate:
            try:
                await expire(key.uid)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - an outcome, handed to the caller
                outcome = ExpireOutcome(key, error)
            else:
                outcome = ExpireOutcome(key)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(one(key) for key in keys)))
