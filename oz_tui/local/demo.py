"""The demo data set: a fixed, realistic set of keys, with times relative to the clock.

Demo keys have no secret. Their suffixes come from a hash of their names (stable, and no real key
is committed), and the stored hash is not the hash of any raw key, so no bearer token can ever
authenticate as a demo key, even if demo data is seeded into a database that is served.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from oz_tui.api.models import OwnerType
from oz_tui.local.store import LOCAL_IDENTITY, KeyStore, StoredKey


@dataclass(frozen=True, slots=True)
class _DemoKey:
    number: int
    name: str
    team: bool
    created_ago: timedelta
    last_used_ago: timedelta | None
    expires_in: timedelta | None


def _d(days: float = 0, hours: float = 0, minutes: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours, minutes=minutes)


DEMO_KEYS = (
    _DemoKey(1, "CI pipeline", True, _d(days=142), _d(minutes=12), None),
    _DemoKey(2, "Staging deploy bot", True, _d(days=64), _d(hours=3), _d(days=26)),
    _DemoKey(3, "Laptop CLI", False, _d(days=41), _d(days=2), _d(days=49)),
    _DemoKey(4, "Nightly agent runs", True, _d(days=87), _d(hours=9), _d(days=3)),
    _DemoKey(5, "Codespaces", False, _d(days=18), None, _d(days=72)),
    _DemoKey(6, "Grafana alerts", True, _d(days=119), _d(days=5), None),
    _DemoKey(7, "Release automation", False, _d(days=7), None, None),
    _DemoKey(8, "Data export", False, _d(days=2), _d(minutes=40), _d(days=28)),
)


def demo_uid(number: int) -> str:
    """Fixed, uuid-shaped uids, so tests and screenshots can name demo keys."""
    return f"00000000-0000-4000-8000-{number:012d}"


def demo_keys(now: datetime) -> list[StoredKey]:
    team_uid = LOCAL_IDENTITY.teams[0].uid
    return [
        StoredKey(
            uid=demo_uid(spec.number),
            name=spec.name,
            key_suffix=hashlib.sha256(spec.name.encode()).hexdigest()[-4:],
            owner_type=OwnerType.TEAM if spec.team else OwnerType.USER,
            team_uid=team_uid if spec.team else None,
            created_at=now - spec.created_ago,
            last_used_at=None if spec.last_used_ago is None else now - spec.last_used_ago,
            expires_at=None if spec.expires_in is None else now + spec.expires_in,
            revoked_at=None,
        )
        for spec in DEMO_KEYS
    ]


def seed_demo(store: KeyStore, now: datetime) -> None:
    """Add the demo keys; ones already present (same uid) are left as they are."""
    for key in demo_keys(now):
        # Not 64 hex characters, so it is the sha256 of no raw key.
        store.insert(key, f"demo:{key.uid}")
