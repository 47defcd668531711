"""Expiring many keys at once (oz_tui/api/bulk.py): bounded, each key once, every outcome."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from oz_tui.api.bulk import expire_each
from oz_tui.core.errors import OzError
from oz_tui.core.models import ApiKey, KeyScope

from determinism import FIXED_NOW


def keys(count: int) -> list[ApiKey]:
    return [
        ApiKey(f"k{n}", f"key {n}", f"{n:04d}", KeyScope.PERSONAL, FIXED_NOW - timedelta(hours=n))
        for n in range(count)
    ]


class FakeExpire:
    """Counts calls per uid and how many run at once; fails the uids in `failing`."""

    def __init__(self, failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.failing = failing
        self.calls: list[str] = []
        self.running = 0
        self.most = 0

    async def __call__(self, uid: str) -> None:
        self.calls.append(uid)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.001 * (1 + hash(uid) % 3))
            if uid in self.failing:
                raise OzError(f"refused {uid}")
        finally:
            self.running -= 1


@pytest.mark.parametrize("limit", [1, 3, 8])
async def test_at_most_limit_run_at_once_and_each_key_once(limit: int) -> None:
    expire = FakeExpire()
    outcomes = await expire_each(expire, keys(20), limit=limit)
    assert expire.most == min(limit, 20)
    assert sorted(expire.calls) == sorted(key.uid for key in keys(20))
    assert len(expire.calls) == 20
    assert all(outcome.expired for outcome in outcomes)


async def test_failures_are_outcomes_in_the_order_given_and_never_retried() -> None:
    expire = FakeExpire(failing={"k2", "k5"})
    heard: list[str] = []
    outcomes = await expire_each(
        expire, keys(8), limit=3, on_outcome=lambda outcome: heard.append(outcome.key.uid)
    )
    assert [outcome.key.uid for outcome in outcomes] == [f"k{n}" for n in range(8)]
    failed = {outcome.key.uid: outcome.error for outcome in outcomes if not outcome.expired}
    assert set(failed) == {"k2", "k5"}
    assert isinstance(failed["k2"], OzError) and "k2" in str(failed["k2"])
    assert expire.calls.count("k2") == 1 and expire.calls.count("k5") == 1
    assert sorted(heard) == sorted(f"k{n}" for n in range(8))


async def test_cancelling_stops_the_keys_not_yet_started() -> None:
    started: list[str] = []
    gate = asyncio.Event()

    async def slow(uid: str) -> None:
        started.append(uid)
        await gate.wait()

    task = asyncio.ensure_future(expire_each(slow, keys(10), limit=2))
    await asyncio.sleep(0.01)
    assert len(started) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()
    await asyncio.sleep(0.01)
    assert len(started) == 2


async def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        await expire_each(FakeExpire(), keys(1), limit=0)
