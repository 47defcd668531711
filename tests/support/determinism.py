"""The fixed "now", a clock the tests control, and deterministic secrets: what makes the
snapshots, the screenshots and every test that shows a key reproducible."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta, timezone
from typing import Callable

#: "Now" for every deterministic test, snapshot and screenshot.
FIXED_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def deterministic_tokens(seed: str = "oz-keys-test") -> Callable[[], str]:
    """A token factory giving the same 64-hex secrets in the same order on every run."""
    counter = itertools.count()
    return lambda: hashlib.sha256(f"{seed}-{next(counter)}".encode()).hexdigest()
